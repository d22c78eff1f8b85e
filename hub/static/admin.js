// Live refresh of the dashboard's events table: polls the admin API with the page's filters.
// Rows are built with textContent only, so nothing from an event is ever parsed as HTML.
(function () {
  "use strict";
  var body = document.getElementById("events");
  var live = document.getElementById("live");
  var updated = document.getElementById("updated");
  var count = document.getElementById("count");
  if (!body || !live) return;
  var PERIOD_MS = 5000;
  var filtered = body.dataset.filtered === "1";

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  // What the server's count_text() says, so a refresh never changes the wording.
  function countText(shown, total) {
    var noun = (filtered ? "matching " : "") + (total === 1 ? "event" : "events");
    if (!total) return filtered ? "No matching events." : "No " + noun + ".";
    return "Newest " + shown + " of " + total + " " + noun + ".";
  }

  function render(events, total) {
    var rows = document.createDocumentFragment();
    events.forEach(function (e) {
      var tr = document.createElement("tr");
      cell(tr, "", "nowrap").appendChild(window.hubTimes.element(e.received_at));
      cell(tr, e.source);
      cell(tr, e.type, "type");
      var status = e.status === "done" && e.handled === false ? "unhandled" : e.status;
      var badge = document.createElement("span");
      badge.className = "badge badge-" + status;
      badge.textContent = status;
      cell(tr, "").appendChild(badge);
      cell(tr, String(e.attempts), "num");
      var error = e.last_error || "";
      cell(tr, error.length > 80 ? error.slice(0, 77) + "..." : error, "error");
      var link = document.createElement("a");
      link.className = "id";
      link.href = body.dataset.eventUrl.replace("EVENT_ID", encodeURIComponent(e.id));
      link.textContent = e.id;
      cell(tr, "").appendChild(link);
      rows.appendChild(tr);
    });
    if (!events.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell(empty, filtered ? "No events match these filters." : "No events.");
      td.colSpan = 7;
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
    window.hubTimes.refresh(body);
    if (count && total !== null) count.textContent = countText(events.length, total);
    updated.textContent = "· updated " + new Date().toLocaleTimeString();
  }

  function poll() {
    if (!live.checked || document.hidden) return;
    fetch(body.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        var total = r.headers.get("X-Total-Count");
        return r.json().then(function (events) { render(events, total === null ? null : Number(total)); });
      })
      .catch(function (err) { updated.textContent = "· refresh failed (" + err.message + ")"; });
  }

  setInterval(poll, PERIOD_MS);
})();
