// Small progressive enhancements used on every page. No inline scripts (CSP).
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="Really remove X?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });
  // The page after a save: the editor's copy of the text in this browser is saved now
  // (static/js/editor.js keeps it under "signon-draft:<name>").
  var saved = document.querySelector('meta[name="signon-saved-draft"]');
  if (saved && saved.content) {
    try { window.localStorage.removeItem("signon-draft:" + saved.content); } catch (e) { /* no storage */ }
  }
  // Fill hidden time-zone fields with the browser's zone, so times show in the reader's sense.
  document.querySelectorAll("input[data-timezone]").forEach(function (input) {
    try {
      if (!input.value) { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
    } catch (e) { /* keep the server default */ }
  });
})();
