// The export page (templates/exports/pdf_settings.html): the settings apply to the preview
// as they change (issue 12 item 7). Each change saves the settings in the background, with
// the same POST as "Save and update the preview" (the server answers 204), then reloads
// the preview image. A change the server refuses is submitted normally, so that the page
// shows what is wrong. Without JavaScript the two buttons do the same.
// Choosing a letterhead logo sends the form at once (the page comes back with the logo
// saved and in the preview, or says why the file was refused); the background saves never
// carry the file, which each of them would otherwise upload and store again.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-preview]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var image = document.querySelector("img[data-preview]");
  var status = document.getElementById("preview-status");
  var pending = null;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function refresh(attempt) {
    if (!image) {
      say("Saved. The preview is being made.");
      return;
    }
    var probe = new Image();
    probe.onload = function () {
      image.src = probe.src;
      say("The preview shows your settings.");
    };
    probe.onerror = function () {  // with a worker, the preview takes a moment
      if (attempt < 20) {
        window.setTimeout(function () { refresh(attempt + 1); }, 1500);
      }
    };
    probe.src = image.getAttribute("data-preview") + "?v=" + Date.now();
  }

  function save() {
    say("Saving and updating the preview…");
    var data = new FormData(form);
    data.delete("export_now");
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      data.delete(input.name);
    });
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Signon-Preview": "1" },
    }).then(function (response) {
      if (response.status === 204) {
        refresh(0);
      } else {
        form.submit();
      }
    }).catch(function () {
      say("The settings could not be saved now; use the buttons below.");
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "file") {
      if (event.target.files && event.target.files.length) {
        window.clearTimeout(pending);
        say("Uploading the logo…");
        form.submit();
      }
      return;
    }
    window.clearTimeout(pending);
    pending = window.setTimeout(save, 250);
  });
})();
