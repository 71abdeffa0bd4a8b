// One format for the times the browser writes, the same as the server's
// (signon/core/timefmt.py): "4 December 2026" and "4 December 2026, 18:05 CET". In the
// reader's zone: their account's when the page names it (<meta name="signon-zone">),
// otherwise the browser's. Loaded in <head> so that every later script may use it.
(function () {
  "use strict";
  function readerZone() {
    var meta = document.querySelector('meta[name="signon-zone"]');
    return meta && meta.content ? meta.content : undefined;
  }
  function formatter(options, zone) {
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, options));
    } catch (error) { // a zone this browser does not know: its own
      return new Intl.DateTimeFormat("en-GB", options);
    }
  }
  // `moment` (a Date) as the app writes it; `withClock`: the time and the zone too;
  // `zone`: an IANA name, by default the reader's.
  window.signonTime = function (moment, withClock, zone) {
    zone = zone || readerZone();
    var text = formatter({ day: "numeric", month: "long", year: "numeric" }, zone).format(moment);
    if (!withClock) { return text; }
    var parts = {};
    formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" }, zone)
      .formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    return text + ", " + parts.hour + ":" + parts.minute + " " + parts.timeZoneName;
  };
})();
