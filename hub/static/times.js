// Times on every admin page: the server writes UTC (also kept as the hover title); this
// shows them relative when recent ("4 min ago", "in 30 s") and in local time otherwise.
(function () {
  "use strict";
  var MINUTE = 60e3, HOUR = 3600e3, DAY = 86400e3;

  function relative(ms) {
    var ahead = ms < 0, span = Math.abs(ms), text;
    if (span < 45e3) text = Math.max(1, Math.round(span / 1e3)) + " s";
    else if (span < HOUR) text = Math.round(span / MINUTE) + " min";
    else text = Math.round(span / HOUR) + " h";
    return ahead ? "in " + text : text + " ago";
  }

  function label(date, now) {
    var ms = now - date.getTime();
    if (Math.abs(ms) < 12 * HOUR) return relative(ms);
    var sameYear = date.getFullYear() === new Date(now).getFullYear();
    var options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    if (!sameYear || Math.abs(ms) > 300 * DAY) options.year = "numeric";
    return date.toLocaleString(undefined, options);
  }

  function refresh(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time.when[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.textContent = label(date, now);
      el.title = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    });
  }

  // The same markup the templates write, for rows built by other scripts.
  function element(iso) {
    var el = document.createElement("time");
    el.className = "when";
    el.setAttribute("datetime", iso);
    el.textContent = iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");
    el.title = el.textContent;
    return el;
  }

  window.hubTimes = { refresh: refresh, element: element };
  refresh();
  setInterval(refresh, 30e3);
})();
