// The invitation page (templates/signatures/sign.html). No inline scripts (CSP).
(function () {
  "use strict";

  // "Opened" is recorded here, not by the GET: mail scanners and link previews fetch the
  // page without running scripts. We wait until the page is really shown to a person
  // (not prerendered, not in a background tab).
  var marker = document.querySelector("[data-seen-url]");
  var reported = false;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function reportSeen() {
    if (reported || !marker || document.visibilityState !== "visible" || document.prerendering) {
      return;
    }
    reported = true;
    var body = new FormData();
    body.append("revision", marker.getAttribute("data-revision"));
    try {  // later mail to this address shows its times in this zone
      body.append("timezone", Intl.DateTimeFormat().resolvedOptions().timeZone || "");
    } catch (error) { /* no Intl: mail stays in UTC */ }
    fetch(marker.getAttribute("data-seen-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      if (!response.ok) { reported = false; }
    }).catch(function () { reported = false; });
  }

  if (marker) {
    document.addEventListener("visibilitychange", reportSeen);
    document.addEventListener("prerenderingchange", reportSeen);
    reportSeen();
  }

  // The fields of one type of signatory only: an organisation's representative and
  // confirmation, a person's affiliation (shown by the server for the type it knows).
  var kind = document.querySelector("select[name='approve-kind']");
  if (kind) {
    var showKind = function () {
      var individual = kind.value === "individual";
      document.querySelectorAll("[data-for-kind]").forEach(function (block) {
        block.hidden = (block.getAttribute("data-for-kind") === "individual") !== individual;
      });
    };
    kind.addEventListener("change", showKind);
    showKind();
  }

  // The confirmation names the representative as it is typed.
  var input = document.querySelector("input[name='approve-representative_name']");
  var name = document.querySelector("[data-representative-name]");
  if (input && name) {
    var update = function () {
      var value = input.value.trim();
      name.textContent = value || name.getAttribute("data-fallback");
    };
    input.addEventListener("input", update);
    update();
  }
})();
