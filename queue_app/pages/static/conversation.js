/* "Message reception" under the ticket on the patient's phone page.
 *
 * The patient writes to the reception desk and reads the answers here.  The thread comes from
 * the API (found by the ticket's secret token, like everything on this page); answers arrive
 * live as the `message` event on the page's own socket (patient.js opens it: one connection per
 * phone), and the whole thread is fetched again after a break in the connection, so an answer
 * written meanwhile is never missed.  New answers are read out by screen readers.
 *
 * Bodies are plain text, set with textContent only: what anyone writes stays words.
 */
(function () {
  "use strict";

  var holder = document.getElementById("thread");
  if (!holder) return;
  var setup = JSON.parse(document.getElementById("thread-setup").textContent);
  var T = setup.texts;
  var fill = window.Dom.fill;
  var el = window.Dom.el;
  var CLOSED = ["finished", "left", "no_show", "cancelled", "expired"];
  var messages = [];
  var timeFormat = new Intl.DateTimeFormat(setup.language, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: setup.timezone,
  });

  var list = el("ol", { id: "thread-messages", className: "thread-messages", "aria-labelledby": "thread-title" });
  var empty = el("p", { id: "thread-empty", className: "muted", text: T.thread_empty });
  var body = el("textarea", { id: "thread-body", name: "body", rows: "3", maxlength: "1000", "aria-describedby": "thread-error" });
  var send = el("button", { type: "submit", id: "thread-send", className: "button primary big", text: T.thread_send });
  var error = el("p", { id: "thread-error", className: "field-error", role: "alert" });
  var form = el("form", { id: "thread-form", className: "thread-form", novalidate: "" }, [
    el("label", { "for": "thread-body", text: T.thread_label }), body, error, send,
  ]);
  // Polite: an answer is read out after whatever the reader is saying, not over it.
  var announcer = el("p", { id: "thread-announcer", className: "sr-only", role: "status", "aria-live": "polite" });
  [el("h2", { id: "thread-title", text: T.thread_title }),
   el("p", { className: "hint", text: T.thread_hint }),
   list, empty, form, announcer].forEach(function (node) { holder.appendChild(node); });
  holder.hidden = false;

  function threadApi(method, payload) {
    return window.Api(method, "/tickets/" + encodeURIComponent(setup.token) + "/messages", payload);
  }

  function item(m) {
    var mine = m.from === "patient";
    return el("li", { className: "message " + (mine ? "from-patient" : "from-clinic"), "data-message": m.id }, [
      el("p", { className: "meta muted", text: (mine ? T.thread_you : T.thread_clinic) + " · " + timeFormat.format(new Date(m.created_at)) }),
      el("p", { className: "body", text: m.body }),
    ]);
  }

  function render() {
    list.textContent = "";
    messages.forEach(function (m) { list.appendChild(item(m)); });
    empty.hidden = messages.length > 0;
  }

  // One message as the server sent it; a second copy (the answer and its event) replaces the first.
  function keep(m) {
    var known = messages.some(function (old) { return old.id === m.id; });
    messages = messages.filter(function (old) { return old.id !== m.id; });
    messages.push(m);
    messages.sort(function (a, b) { return String(a.created_at).localeCompare(String(b.created_at)) || a.id - b.id; });
    render();
    return !known;
  }

  function load() {
    return threadApi("GET").then(function (result) {
      if (!result.ok) return;
      messages = result.body.messages;
      render();
    });
  }

  var closedNote = el("p", { id: "thread-closed", className: "muted", text: T.thread_closed });
  function ticketClosed(status) {
    // A closed ticket's thread stays readable; writing goes by phone now (the API says 409).
    if (CLOSED.indexOf(status) < 0 || form.hidden) return;
    form.hidden = true;
    holder.insertBefore(closedNote, announcer);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!body.value.trim()) { error.textContent = T.thread_empty_body; body.focus(); return; }
    send.disabled = true;
    send.textContent = T.thread_sending;
    error.textContent = "";
    threadApi("POST", { body: body.value })
      .then(function (result) {
        if (result.ok) { body.value = ""; keep(result.body.message); return; }
        error.textContent = result.status === 429 ? T.thread_too_many
          : result.status === 409 ? T.thread_closed : T.thread_failed;
      }, function () { error.textContent = T.thread_failed; })
      .then(function () { send.disabled = false; send.textContent = T.thread_send; });
  });

  var socket = window.patientSocket;
  if (socket) {
    var lost = false;
    socket.on("message", function (m) {
      if (keep(m) && m.from === "clinic") announcer.textContent = fill(T.thread_new_reply, { body: m.body });
    });
    socket.on("ticket", function (view) { if (view && view.status) ticketClosed(view.status); });
    socket.on("disconnect", function () { lost = true; });
    socket.on("connect", function () { if (lost) { lost = false; load(); } });
  }
  ticketClosed(setup.status);
  load();
})();
