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
  // Copies of a person's unsaved text kept in this browser: editor.js's drafts under
  // "signon-draft:user-<id>:…", live.js's unconfirmed changes under
  // "signon-live-unsent:user-<id>:…" (signon/core/sessions.py: browser_copies_owner).
  // Logging out deletes that person's copies, so that the next person on a shared computer
  // cannot read them: the page after it names whose (<meta name="signon-forget-copies">);
  // drafts kept before copies were named per person ("signon-draft:letter-…") go too.
  // "Log out" asks first when there are some (<form data-browser-copies="user-<id>:">).
  var COPY_PREFIXES = ["signon-draft:", "signon-live-unsent:"];
  function browserCopies(owner, withUnowned) {
    var keys = [];
    try {
      var store = window.localStorage;
      for (var index = 0; index < store.length; index++) {
        var key = store.key(index) || "";
        var mine = COPY_PREFIXES.some(function (prefix) { return key.indexOf(prefix + owner) === 0; });
        var unowned = key.indexOf("signon-draft:") === 0 && key.indexOf("signon-draft:user-") !== 0;
        if (mine || (withUnowned && unowned)) { keys.push(key); }
      }
    } catch (e) { /* no storage */ }
    return keys;
  }
  var forget = document.querySelector('meta[name="signon-forget-copies"]');
  if (forget && forget.content) {
    browserCopies(forget.content, true).forEach(function (key) {
      try { window.localStorage.removeItem(key); } catch (e) { /* no storage */ }
    });
  }
  // Capture: before the confirmation above reads data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var owner = form instanceof HTMLFormElement ? form.getAttribute("data-browser-copies") : null;
    if (!owner) { return; }
    if (browserCopies(owner, false).length) {
      form.dataset.confirm = "This browser keeps text you typed that is not saved yet." +
        " Logging out deletes it from this browser, so that nobody else using it can read it." +
        " Log out anyway?";
    } else {
      delete form.dataset.confirm;
    }
  }, true);
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
