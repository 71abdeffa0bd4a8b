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
  // Fill hidden time-zone fields with the browser's zone, so times show in the reader's sense.
  document.querySelectorAll("input[data-timezone]").forEach(function (input) {
    try {
      if (!input.value) { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
    } catch (e) { /* keep the server default */ }
  });
})();
