// The playground's chats: send without reloading, show the replies (with their keyboards)
// and the event they made; each chat keeps its newest message in view.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function scrollToNewest(list) { list.scrollTop = list.scrollHeight; }

  function item(list, className, text) {
    var empty = list.querySelector(".empty-chat");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.className = className;
    li.textContent = text;
    list.appendChild(li);
    scrollToNewest(list);
    return li;
  }

  // Buttons from reply_markup: links open (dry-run checkout pages too), reply keys send
  // their text, callback buttons are shown but not simulated.
  function keyboard(rows) {
    var board = document.createElement("span");
    board.className = "keyboard";
    rows.forEach(function (row) {
      var keys = document.createElement("span");
      keys.className = "keys";
      row.forEach(function (key) {
        var el;
        if (key.url) {
          el = document.createElement("a");
          el.href = key.url;
          el.target = "_blank";
          el.rel = "noopener noreferrer";
        } else {
          el = document.createElement("button");
          el.type = "button";
          if (key.send) el.dataset.send = key.send;
          else { el.disabled = true; el.title = "callback buttons are not simulated"; }
        }
        el.className = "key";
        el.textContent = key.text;
        keys.appendChild(el);
      });
      board.appendChild(keys);
    });
    return board;
  }

  function botMessage(list, m) {
    if (m.call) { item(list, "meta call", "\u21b3 " + m.via); return; }
    var li = item(list, "bubble bot" + (m.via ? " outbox" : ""), m.text);
    if (m.buttons && m.buttons.length) li.appendChild(keyboard(m.buttons));
    if (m.via) {
      var via = document.createElement("span");
      via.className = "via";
      via.textContent = m.via;
      li.appendChild(document.createTextNode(" "));
      li.appendChild(via);
    }
    scrollToNewest(list);
  }

  function show(list, result) {
    result.messages.forEach(function (m) { botMessage(list, m); });
    if (result.error) item(list, "bubble error", result.error);
    if (!result.messages.length && !result.error) item(list, "meta", "(no reply)");
    if (result.event) {
      var meta = item(list, "meta", "");
      var link = document.createElement("a");
      link.href = result.event.url;
      link.textContent = result.event.id;
      meta.appendChild(link);
      meta.appendChild(document.createTextNode(
        " · " + result.event.status + " · attempts " + result.event.attempts));
      scrollToNewest(list);
    }
  }

  document.querySelectorAll(".chat").forEach(function (chat) {
    var form = chat.querySelector("form");
    var list = chat.querySelector(".conversation");
    var input = form.querySelector('input[name="text"]');
    scrollToNewest(list);

    function send(text) {
      if (!text.trim()) return;
      item(list, "bubble me", text);
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
        .catch(function (err) { item(list, "bubble error", err.message); });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      send(input.value);
    });
    list.addEventListener("click", function (ev) {
      var key = ev.target.closest("button.key[data-send]");
      if (key) send(key.dataset.send);
    });
  });
})();
