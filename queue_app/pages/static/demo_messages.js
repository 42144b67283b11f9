/* The demo phones page: new messages appear on their ticket's card as they go out.
 *
 * The server renders the day's messages into the page; this script keeps it live.  It
 * listens to the `delivery` event every staff screen gets, and for a message that reached a
 * patient's phone (sent or delivered, on the patient's route) it fetches that message's
 * card entry (its rendered text is not in the event).  On every (re)connect it fetches the
 * whole list, so a message sent while the page was offline still shows up.  Entries are
 * keyed by message id: one that is already shown is never added twice.
 */
(function () {
  "use strict";

  var setup = JSON.parse(document.getElementById("setup").textContent);
  var T = setup.texts;
  var phones = document.getElementById("phones");
  var announcer = document.getElementById("announcer");
  var RECEIVED = { sent: true, delivered: true };

  var fill = window.Dom.fill;
  var el = window.Dom.el;

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (response.status === 401) {
        announcer.textContent = T.signed_out;
        setTimeout(function () { location.href = "/login?next=" + encodeURIComponent(location.pathname); }, 1500);
        return null;
      }
      return response.ok ? response.json() : null;
    });
  }
  function withLanguage(url) { return url + "?lang=" + encodeURIComponent(setup.language); }

  // -- the cards, built like the server's template --------------------------------------------

  function card(phone) {
    var existing = phones.querySelector('article[data-ticket="' + phone.ticket_id + '"]');
    if (existing) return existing;
    var titleId = "phone-" + phone.ticket_id;
    var node = el("article", { className: "demo-phone", "data-ticket": String(phone.ticket_id), "aria-labelledby": titleId }, [
      el("h2", { id: titleId, className: "num", text: phone.number }),
      phone.phone ? el("p", { className: "muted demo-number", text: phone.phone }) : null,
      el("ol", { className: "demo-inbox" }),
    ]);
    phones.insertBefore(node, phones.firstChild);
    document.getElementById("no-messages").hidden = true;
    return node;
  }

  function messageItem(message) {
    var time = el("time", { datetime: message.datetime, text: message.time });
    var meta = el("p", { className: "demo-meta" }, [
      el("strong", { text: message.kind_label }),
      document.createTextNode(" · "), time,
      document.createTextNode(" · " + message.channel_label),
    ]);
    return el("li", { "data-message": message.id, className: "new" }, [meta, el("p", { className: "demo-text", text: message.text })]);
  }

  /* Put the message on its phone's card, newest at the top; the card moves to the top of the
   * page, as the phone that just buzzed.  False when it was there already. */
  function add(phone, message) {
    if (phones.querySelector('li[data-message="' + message.id + '"]')) return false;
    var node = card(phone);
    var inbox = node.querySelector(".demo-inbox");
    var item = messageItem(message);
    var newer = Array.prototype.filter.call(inbox.children, function (li) {
      var when = li.querySelector("time");
      return when && when.getAttribute("datetime") > message.datetime;
    });
    var after = newer.length ? newer[newer.length - 1].nextSibling : inbox.firstChild;
    inbox.insertBefore(item, after);
    if (!newer.length && phones.firstChild !== node) phones.insertBefore(node, phones.firstChild);
    setTimeout(function () { item.classList.remove("new"); }, 4000);
    announcer.textContent = fill(T.received, { number: phone.number, kind: message.kind_label });
    return true;
  }

  function catchUp() {
    getJson(withLanguage(setup.list_url)).then(function (body) {
      if (!body) return;
      // Oldest first, so that each card ends up with its newest message at the top.
      body.phones.slice().reverse().forEach(function (phone) {
        phone.messages.slice().reverse().forEach(function (message) { add(phone, message); });
      });
    });
  }

  function onDelivery(delivery) {
    var message = delivery && delivery.message;
    if (!message || message.route !== "patient" || !RECEIVED[message.status]) return;
    if (phones.querySelector('li[data-message="' + message.id + '"]')) return;
    getJson(withLanguage(setup.message_url.replace("MESSAGE_ID", encodeURIComponent(message.id)))).then(function (body) {
      if (body) add(body.phone, body.message);
    });
  }

  // -- live updates ---------------------------------------------------------------------------

  var conn = document.getElementById("conn");
  var liveText = conn.textContent;
  function setOnline(online) {
    conn.classList.toggle("offline", !online);
    conn.textContent = online ? liveText : T.offline;
  }

  if (window.io) {
    var socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () { setOnline(true); catchUp(); });
    socket.on("disconnect", function () { setOnline(false); });
    socket.on("connect_error", function (err) {
      setOnline(false);
      if (err && err.message === "authentication required") location.href = "/login?next=" + encodeURIComponent(location.pathname);
    });
    socket.on("delivery", onDelivery);
  }
})();
