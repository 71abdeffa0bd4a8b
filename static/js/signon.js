// Small progressive enhancements used on every page. No inline scripts (CSP).
(function () {
  "use strict";
  // How many checkboxes named `name` that belong to `form` (also through form="…") are ticked.
  function ticked(form, name) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.type === "checkbox" && element.name === name && element.checked;
    }).length;
  }
  // Ask before destructive actions: <form data-confirm="Really remove X?">, or on the button
  // that submits (<button data-confirm="Reject the {count} selected?"
  // data-confirm-count="checkbox name">: {count} becomes the number ticked).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var asker = event.submitter && event.submitter.dataset.confirm ? event.submitter : form;
    var question = asker.dataset.confirm;
    if (!question) { return; }
    if (asker.dataset.confirmCount) {
      question = question.replace("{count}", String(ticked(form, asker.dataset.confirmCount)));
    }
    if (!window.confirm(question)) {
      event.preventDefault();
    }
  });
  // "Select all on this page": <input type="checkbox" data-select-all="checkbox name"> in a
  // form ticks (or unticks) that form's checkboxes of that name; shown only with JavaScript.
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var label = all.closest("[data-select-all-label]");
    if (label) { label.hidden = false; }
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(all.form.elements, function (element) {
        if (element.type === "checkbox" && element.name === all.dataset.selectAll) {
          element.checked = all.checked;
        }
      });
    });
  });
  // The page after a save: the editor's copy of the text in this browser is saved now
  // (static/js/editor.js keeps it under "signon-draft:<name>").
  var saved = document.querySelector('meta[name="signon-saved-draft"]');
  if (saved && saved.content) {
    try { window.localStorage.removeItem("signon-draft:" + saved.content); } catch (e) { /* no storage */ }
  }
  // The conflict page: typing your own wording of a passage chooses "Write it yourself".
  document.addEventListener("input", function (event) {
    var option = event.target.closest && event.target.closest(".conflict-option-edit");
    var radio = option && option.querySelector("input[type=radio]");
    if (radio && event.target.tagName === "TEXTAREA") { radio.checked = true; }
  });
  // The browser's time zone, so that pages show times in it to people without an
  // account (invitees); read by signon/core/timefmt.py, UTC until it is known.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\-\/]+$/.test(zone) && document.cookie.split("; ").indexOf("signon_tz=" + zone) === -1) {
      document.cookie = "signon_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
  } catch (error) { /* no Intl: times stay in UTC */ }
  // Times the server wrote in UTC for want of the reader's zone (signon/core/timefmt.py:
  // a first visit before the cookie above is sent, a public page shared by every zone):
  // rewritten in the browser's zone, in the app's format ("4 December 2026, 18:05 CET").
  try {
    document.querySelectorAll("time[data-localise]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      // the browser's own zone: the server did not know the reader's (static/js/timefmt.js)
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      element.textContent = window.signonTime(moment, element.getAttribute("data-localise") === "datetime", zone);
    });
  } catch (error) { /* no Intl: the UTC text stays */ }
  // Fill hidden time-zone fields with the browser's zone, so times show in the reader's sense.
  document.querySelectorAll("input[data-timezone]").forEach(function (input) {
    try {
      if (!input.value) { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
    } catch (e) { /* keep the server default */ }
  });
})();
