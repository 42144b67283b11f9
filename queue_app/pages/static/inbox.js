/* The staff console's inbox: every conversation with patients, read and answered in one place.
 *
 * The list and the unread counts come from the API (the counts live in the database, so a
 * reload or a restart shows the same numbers); the `inbox` event on the console's own socket
 * (staff.js opens it: one connection per console) brings every change to every console at
 * once: a patient's new message, each step of an answer's delivery, read, assign, close.
 * A new message from a patient rings (once the user has touched the page, as browsers
 * require) and, while the console is in the background, shows a browser notification.
 *
 * Bodies are the patient's own words: they are only ever set with textContent.
 */
(function () {
  "use strict";

  var setup = JSON.parse(document.getElementById("inbox-setup").textContent);
  var T = setup.texts;
  var fill = window.Dom.fill;
  var el = window.Dom.el;
  function $(id) { return document.getElementById(id); }

  var state = { show: "open", rows: [], unreadTotal: 0, current: null, templates: [] };
  var timeFormat = new Intl.DateTimeFormat(setup.language, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: setup.timezone,
  });

  var api = window.Api;

  function problem(result) {
    var error = result.body && result.body.error;
    return fill(T.action_failed, { message: error ? error.message : "HTTP " + result.status });
  }

  // -- the badge: unread messages in open conversations -----------------------------------------

  // "3", read out as "3 unread".
  function unreadParts(n) {
    var parts = document.createDocumentFragment();
    parts.appendChild(el("span", { "aria-hidden": "true", text: String(n) }));
    parts.appendChild(el("span", { className: "sr-only", text: fill(T.unread, { n: n }) }));
    return parts;
  }

  var pageTitle = document.title;
  function showBadge(total) {
    state.unreadTotal = total;
    // The tab says it too, for a console behind other windows: "(2) Staff console · ...".
    document.title = (total ? "(" + total + ") " : "") + pageTitle;
    var badge = $("inbox-badge");
    badge.hidden = !total;
    badge.setAttribute("data-count", String(total));
    badge.textContent = "";
    if (total) badge.appendChild(unreadParts(total));
  }

  // -- the list ---------------------------------------------------------------------------------

  function contactText(row) {
    if (row.channel === "page" && !/\d/.test(row.contact || "")) return T.contact_page;
    return row.contact || T["channel_" + row.channel] || row.channel;
  }

  function ticketText(ticket) {
    if (!ticket) return T.no_ticket;
    return fill(T.ticket, { number: ticket.number }) + " · " + (T["ticket_" + ticket.status] || ticket.status);
  }

  // "A-003 · •••• 5678": the ticket's number first, as staff call patients by it.
  function titleText(row) {
    return (row.ticket ? row.ticket.number + " · " : "") + contactText(row);
  }

  // Where they wrote and their ticket: "SMS · Ticket A-003 · waiting" (the channel once only).
  function factsText(row) {
    var channel = T["channel_" + row.channel] || row.channel;
    var facts = [ticketText(row.ticket)];
    if (channel !== contactText(row)) facts.unshift(channel);
    return facts.join(" · ");
  }

  function callbackText(row) {
    if (!row.callback) return "";
    return row.preferred_time ? fill(T.callback_at, { time: row.preferred_time }) : T.callback;
  }

  function when(iso) { return iso ? timeFormat.format(new Date(iso)) : ""; }

  function rowItem(row) {
    var unread = row.unread ? el("span", { className: "badge unread" }, [unreadParts(row.unread)]) : null;
    var button = el("button", { type: "button", className: "conversation", "data-conversation": row.id }, [
      el("span", { className: "contact", text: titleText(row) }),
      unread || el("span", {}),
      el("time", { className: "when muted", datetime: row.last_message_at || "", text: when(row.last_message_at) }),
      el("span", { className: "ticket", text: factsText(row) }),
      row.callback ? el("span", { className: "callback", text: callbackText(row) }) : null,
      el("span", { className: "preview", text: row.preview || "" }),
      row.assigned_to ? el("span", { className: "assigned muted", text: fill(T.assigned, { user: row.assigned_to }) }) : null,
    ]);
    if (state.current && state.current.id === row.id) button.setAttribute("aria-current", "true");
    button.addEventListener("click", function () { openConversation(row.id); });
    return el("li", { className: row.unread ? "has-unread" : "" }, [button]);
  }

  function renderList() {
    var list = $("inbox-list");
    var focused = document.activeElement && document.activeElement.getAttribute("data-conversation");
    list.textContent = "";
    if (!state.rows.length) {
      list.appendChild(el("li", { className: "muted empty", text: state.show === "open" ? T.none_open : T.none_closed }));
    }
    state.rows.forEach(function (row) { list.appendChild(rowItem(row)); });
    // The list is rebuilt on every event: keep the keyboard where it was.
    if (focused) {
      var again = list.querySelector('[data-conversation="' + focused + '"]');
      if (again) again.focus();
    }
  }

  function loadList() {
    return api("GET", "/conversations?status=" + state.show).then(function (result) {
      if (!result.ok) return;
      state.rows = result.body.conversations;
      showBadge(result.body.unread_total);
      renderList();
    });
  }

  // The row as the server sent it, in its place: newest message first, only this filter's.
  function placeRow(row) {
    state.rows = state.rows.filter(function (r) { return r.id !== row.id; });
    if (row.status === state.show) state.rows.push(row);
    state.rows.sort(function (a, b) { return String(b.last_message_at).localeCompare(String(a.last_message_at)); });
    renderList();
  }

  function showFilter(show) {
    state.show = show;
    $("inbox-show-open").setAttribute("aria-pressed", String(show === "open"));
    $("inbox-show-closed").setAttribute("aria-pressed", String(show === "closed"));
    loadList();
  }

  // -- one conversation ---------------------------------------------------------------------------

  var parts = {};

  function buildThread() {
    parts.title = el("h3", { id: "thread-title", tabindex: "-1" });
    parts.facts = el("p", { id: "thread-facts", className: "thread-facts" });
    parts.assign = el("select", { id: "thread-assign", "aria-label": T.unassigned });
    parts.assign.appendChild(el("option", { value: "", text: T.unassigned }));
    setup.staff.forEach(function (name) {
      parts.assign.appendChild(el("option", { value: name, text: fill(T.assigned, { user: name }) }));
    });
    parts.take = el("button", { type: "button", className: "button", id: "thread-take", text: T.take });
    parts.close = el("button", { type: "button", className: "button", id: "thread-close" });
    // Not live: it is rebuilt on every event; #inbox-announcer says what is new.
    parts.messages = el("ol", { id: "thread-messages", className: "thread-messages", "aria-labelledby": "thread-title" });
    parts.quick = el("div", { id: "quick-replies", className: "quick-replies", role: "group", "aria-label": T.quick_replies });
    parts.body = el("textarea", { id: "reply-body", rows: "3", maxlength: "1000" });
    parts.error = el("p", { id: "reply-error", className: "field-error", role: "alert" });
    parts.send = el("button", { type: "submit", className: "button primary", id: "reply-send", text: T.send });
    parts.form = el("form", { id: "reply-form", className: "reply-form", novalidate: "" }, [
      parts.quick,
      el("label", { "for": "reply-body", text: T.reply_label }),
      parts.body, parts.error, parts.send,
    ]);
    var pane = $("inbox-thread");
    pane.textContent = "";
    [parts.title, parts.facts,
     el("div", { className: "actions" }, [parts.assign, parts.take, parts.close]),
     parts.messages, parts.form].forEach(function (node) { pane.appendChild(node); });

    parts.assign.addEventListener("change", function () { assign(parts.assign.value || null); });
    parts.take.addEventListener("click", function () { assign(setup.user); });
    parts.close.addEventListener("click", closeOrReopen);
    parts.form.addEventListener("submit", sendReply);
  }

  function authorText(m) {
    if (m.author === "patient") return T.author_patient;
    if (m.author === "auto") return T.author_auto;
    return String(m.author || "").replace(/^[a-z]+:/, "");
  }

  function messageItem(m) {
    var state_ = m.direction === "out" ? (T["status_" + m.status] || m.status) : "";
    var meta = [when(m.created_at), authorText(m), T["channel_" + m.channel] || m.channel];
    if (state_) meta.push(state_);
    return el("li", { className: "message " + (m.direction === "in" ? "from-patient" : "from-clinic") + " status-" + m.status,
                      "data-message": m.id }, [
      el("p", { className: "meta muted", text: meta.join(" · ") }),
      el("p", { className: "body", text: m.body }),
      m.keyword ? el("p", { className: "keyword", text: T["keyword_" + m.keyword] || m.keyword }) : null,
      m.status === "failed" && m.error ? el("p", { className: "delivery-error", text: fill(T.failed_because, { error: m.error }) }) : null,
    ]);
  }

  function renderThread() {
    var c = state.current;
    $("inbox-choose").hidden = !!c;
    $("inbox-thread").hidden = !c;
    if (!c) return;
    parts.title.textContent = titleText(c);
    parts.facts.textContent = factsText(c) + (c.callback ? " · " + callbackText(c) : "");
    // Someone no longer on the staff list (deactivated since) still shows as assigned, once.
    var known = Array.prototype.some.call(parts.assign.options, function (o) { return o.value === c.assigned_to; });
    if (c.assigned_to && !known) {
      parts.assign.appendChild(el("option", { value: c.assigned_to, text: fill(T.assigned, { user: c.assigned_to }) }));
    }
    parts.assign.value = c.assigned_to || "";
    parts.take.hidden = c.assigned_to === setup.user;
    parts.close.textContent = c.status === "open" ? T.close : T.reopen;
    var list = parts.messages;
    list.textContent = "";
    c.messages.forEach(function (m) { list.appendChild(messageItem(m)); });
    list.scrollTop = list.scrollHeight;   // the newest message, just above the reply box
    renderQuickReplies();
  }

  function renderQuickReplies() {
    var c = state.current;
    parts.quick.textContent = "";
    if (!state.templates.length) { parts.quick.hidden = true; return; }
    parts.quick.hidden = false;
    parts.quick.appendChild(el("span", { className: "muted", text: T.quick_replies }));
    state.templates.forEach(function (template) {
      var text = template.texts[c.language] || template.texts[Object.keys(template.texts)[0]] || "";
      // Labelled by how it begins, in the console's own language: an id like "parking" says
      // little to a receptionist reading Korean.
      var own = template.texts[document.documentElement.lang] || text;
      var label = own.length > 28 ? own.slice(0, 27).trim() + "…" : own || template.id;
      var button = el("button", { type: "button", className: "button quick", "data-template": template.id,
                                  title: text, text: label });
      button.addEventListener("click", function () {
        // One click fills the box, in the patient's language; staff may still change it.
        parts.body.value = text;
        parts.body.focus();
      });
      parts.quick.appendChild(button);
    });
  }

  function openConversation(id) {
    return api("GET", "/conversations/" + id).then(function (result) {
      if (!result.ok) return;
      var firstOpen = !state.current || state.current.id !== id;
      state.current = result.body;
      if (firstOpen) { parts.body.value = ""; parts.error.textContent = ""; }
      renderThread();
      renderList();
      if (firstOpen) parts.title.focus();
      if (result.body.unread) markRead(id);
    });
  }

  function markRead(id) {
    api("POST", "/conversations/" + id + "/read");
  }

  function upsertMessage(message) {
    var messages = state.current.messages.filter(function (m) { return m.id !== message.id; });
    messages.push(message);
    messages.sort(function (a, b) { return String(a.created_at).localeCompare(String(b.created_at)) || a.id - b.id; });
    state.current.messages = messages;
  }

  function assign(user) {
    var id = state.current.id;
    api("POST", "/conversations/" + id + "/assign", { user: user }).then(function (result) {
      if (!result.ok) parts.error.textContent = problem(result);
    });
  }

  function closeOrReopen() {
    var c = state.current;
    api("POST", "/conversations/" + c.id + "/" + (c.status === "open" ? "close" : "reopen")).then(function (result) {
      if (!result.ok) parts.error.textContent = problem(result);
    });
  }

  function sendReply(event) {
    event.preventDefault();
    var body = parts.body.value;
    if (!body.trim()) { parts.error.textContent = T.empty_reply; parts.body.focus(); return; }
    var id = state.current.id;
    parts.send.disabled = true;
    parts.send.textContent = T.sending;
    parts.error.textContent = "";
    api("POST", "/conversations/" + id + "/reply", { body: body })
      .then(function (result) {
        if (!result.ok) { parts.error.textContent = problem(result); return; }
        if (state.current && state.current.id === id) {
          parts.body.value = "";
          upsertMessage(result.body.message);
          renderThread();
        }
      }, function () { parts.error.textContent = fill(T.action_failed, { message: "offline" }); })
      .then(function () { parts.send.disabled = false; parts.send.textContent = T.send; });
  }

  // -- a new message: the sound, the notification ------------------------------------------------

  function chime() {
    var rang = window.Sound.play([
      { at: 0, frequency: 784, length: 0.25, volume: 0.3 },
      { at: 0.18, frequency: 988, length: 0.25, volume: 0.3 },
    ]);
    if (rang) window.__inboxChimes = (window.__inboxChimes || 0) + 1;
  }

  function notifyInBackground(row) {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      // A notification's text is plain text by the standard: no markup can come alive there.
      var note = new Notification(fill(T.new_message, { contact: titleText(row) }), {
        body: row.preview || "", tag: "inbox-" + row.id, lang: setup.language,
      });
      note.onclick = function () { window.focus(); openConversation(row.id); note.close(); };
    } catch (e) { /* Chrome on Android only shows them through a service worker: the badge still says it */ }
  }

  function showAlertsButton() {
    var button = $("inbox-alerts");
    var supported = "Notification" in window;
    button.hidden = !supported || Notification.permission === "granted";
    if (supported && Notification.permission === "denied") {
      button.hidden = true;
      $("inbox-alerts-status").textContent = T.alerts_blocked;
    }
  }

  $("inbox-alerts").addEventListener("click", function () {
    window.Sound.unlock();
    // Asked on a click: browsers ignore (or penalise) a page that asks unprompted.
    var answer = Notification.requestPermission(function () { showAlertsButton(); });
    if (answer && answer.then) answer.then(showAlertsButton);
    $("inbox-alerts-status").textContent = T.alerts_are_on;
  });

  // -- live -----------------------------------------------------------------------------------------

  function onInbox(event) {
    var row = event.conversation;
    showBadge(event.unread_total);
    placeRow(row);
    var message = event.message;
    var fresh = message && message.direction === "in";
    if (state.current && state.current.id === row.id) {
      var messages = state.current.messages;
      state.current = Object.assign({}, row, { messages: messages });
      if (message) upsertMessage(message);
      renderThread();
      // Someone is reading this very conversation: it is read, on every console.
      if (fresh && row.unread && !document.hidden) markRead(row.id);
    }
    if (fresh) {
      chime();
      notifyInBackground(row);
      $("inbox-announcer").textContent = fill(T.new_message_said, { contact: titleText(row), preview: row.preview || "" });
    }
  }

  var socket = window.staffSocket;
  if (socket) {
    var lost = false;
    socket.on("inbox", onInbox);
    socket.on("disconnect", function () { lost = true; });
    socket.on("connect", function () {
      // Back after a break: what was said meanwhile is in the database, not in missed events.
      if (!lost) return;
      lost = false;
      loadList();
      if (state.current) openConversation(state.current.id);
    });
  }

  $("inbox-show-open").addEventListener("click", function () { showFilter("open"); });
  $("inbox-show-closed").addEventListener("click", function () { showFilter("closed"); });

  buildThread();
  renderThread();
  showAlertsButton();
  loadList();
  // Quick replies: loaded once; an admin's edits (quick-replies.js) hand over the new list.
  var templateListeners = [];
  function setTemplates(templates) {
    state.templates = templates;
    if (state.current) renderQuickReplies();
    templateListeners.forEach(function (listener) { listener(templates); });
  }
  window.Inbox = {
    setup: setup,
    setTemplates: setTemplates,
    onTemplates: function (listener) { templateListeners.push(listener); listener(state.templates); },
  };
  api("GET", "/inbox/templates").then(function (result) { if (result.ok) setTemplates(result.body.templates); });
})();
