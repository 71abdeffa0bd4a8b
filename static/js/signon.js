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
  // The conflict page's choices are kept under the same name + ":conflicts-<draft>".
  var saved = document.querySelector('meta[name="signon-saved-draft"]');
  if (saved && saved.content) {
    try {
      var storage = window.localStorage;
      Object.keys(storage).forEach(function (key) {
        if (key === "signon-draft:" + saved.content || key.indexOf("signon-draft:" + saved.content + ":conflicts-") === 0) {
          storage.removeItem(key);
        }
      });
    } catch (e) { /* no storage */ }
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
  // ... and what is chosen and typed per passage is kept in this browser until the
  // combined text is saved, so that a session that ends meanwhile (the save refused,
  // log in again, back here) or a closed tab loses none of it.
  var conflictForm = document.querySelector("form[data-conflict-draft]");
  if (conflictForm) { keepConflictChoices(conflictForm); }

  function keepConflictChoices(form) {
    var store;
    try { store = window.localStorage; } catch (e) { return; }
    if (!store) { return; }
    var key = "signon-draft:" + form.getAttribute("data-conflict-draft");
    function kept() {
      var fields = Array.prototype.filter.call(form.elements, function (element) {
        return /^conflicts-\d+-(choice|text)$/.test(element.name);
      });
      return fields;
    }
    function remember() {
      var values = {};
      kept().forEach(function (element) {
        if (element.type === "radio") {
          if (element.checked) { values[element.name] = element.value; }
        } else {
          values[element.name] = element.value;
        }
      });
      try {
        store.setItem(key, JSON.stringify({ values: values, savedAt: new Date().toISOString() }));
      } catch (e) { /* full or refused: the server keeps the rest */ }
    }
    var stored = null;
    try { stored = JSON.parse(store.getItem(key) || "null"); } catch (e) { stored = null; }
    if (stored && stored.values) {
      var restored = false;
      kept().forEach(function (element) {
        var value = stored.values[element.name];
        if (typeof value !== "string") { return; }
        if (element.type === "radio") {
          if (element.value === value && !element.checked) { element.checked = true; restored = true; }
        } else if (element.value !== value) {
          element.value = value;
          restored = true;
        }
      });
      if (restored) {
        var note = document.createElement("p");
        note.className = "flash";
        note.setAttribute("role", "status");
        note.textContent = "Your choices and wording for each passage were restored from this browser.";
        form.insertBefore(note, form.firstChild);
      }
    }
    form.addEventListener("input", remember);
    form.addEventListener("change", remember);
  }
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
