// The playground's chats: send without reloading, show the replies and the event they made.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function bubble(list, className, text, via) {
    var li = document.createElement("li");
    li.className = className;
    li.textContent = text;
    if (via) {
      var span = document.createElement("span");
      span.className = "via";
      span.textContent = via;
      li.appendChild(document.createTextNode(" "));
      li.appendChild(span);
    }
    list.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  function show(list, result) {
    result.replies.forEach(function (text) { bubble(list, "bubble bot", text); });
    result.outbox.forEach(function (o) {
      bubble(list, "bubble bot outbox", o.text || o.action,
        "via outbox: " + o.integration + " " + o.action + " (" + o.status + ")");
    });
    if (result.error) bubble(list, "bubble error", result.error);
    if (!result.replies.length && !result.outbox.length && !result.error) {
      bubble(list, "meta", "(no reply)");
    }
    if (result.event) {
      var meta = bubble(list, "meta", "");
      var link = document.createElement("a");
      link.href = result.event.url;
      link.textContent = result.event.id;
      meta.appendChild(link);
      meta.appendChild(document.createTextNode(
        " · " + result.event.status + " · attempts " + result.event.attempts));
    }
  }

  document.querySelectorAll(".chat").forEach(function (chat) {
    var form = chat.querySelector("form");
    var list = chat.querySelector(".conversation");
    var input = form.querySelector('input[name="text"]');
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = input.value;
      if (!text.trim()) return;
      bubble(list, "bubble me", text);
      input.value = "";
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ channel: chat.dataset.channel, text: text })
      })
        .then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) throw new Error(body.message || "HTTP " + r.status);
            return body;
          });
        })
        .then(function (result) { show(list, result); })
        .catch(function (err) { bubble(list, "bubble error", err.message); });
    });
  });
})();
