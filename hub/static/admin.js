// Live refresh of the dashboard's events table: polls the admin API with the page's filters.
// Rows are built with textContent only, so nothing from an event is ever parsed as HTML.
(function () {
  "use strict";
  var body = document.getElementById("events");
  var live = document.getElementById("live");
  var updated = document.getElementById("updated");
  if (!body || !live) return;
  var PERIOD_MS = 5000;

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(events) {
    var rows = document.createDocumentFragment();
    events.forEach(function (e) {
      var tr = document.createElement("tr");
      cell(tr, e.received_at.replace("T", " ").replace(/\.\d+Z$/, "Z"));
      cell(tr, e.source);
      cell(tr, e.type);
      var badge = document.createElement("span");
      badge.className = "badge badge-" + e.status;
      badge.textContent = e.status;
      cell(tr, "").appendChild(badge);
      cell(tr, String(e.attempts), "num");
      var error = e.last_error || "";
      cell(tr, error.length > 80 ? error.slice(0, 77) + "..." : error, "error");
      var link = document.createElement("a");
      link.href = body.dataset.eventUrl.replace("EVENT_ID", encodeURIComponent(e.id));
      link.textContent = e.id;
      cell(tr, "").appendChild(link);
      rows.appendChild(tr);
    });
    if (!events.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell(empty, "No events.");
      td.colSpan = 7;
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
    updated.textContent = "· updated " + new Date().toLocaleTimeString();
  }

  function poll() {
    if (!live.checked || document.hidden) return;
    fetch(body.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (err) { updated.textContent = "· refresh failed (" + err.message + ")"; });
  }

  setInterval(poll, PERIOD_MS);
})();
