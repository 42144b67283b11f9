/* The staff console: my rooms, "Call next" and the other actions, the live queue.
 *
 * Every action is a request to the REST API (the session cookie, plus X-Requested-With so a
 * cross-site form cannot act for us); every change anyone makes comes back to every console
 * as the staff `queue` event, so the page never guesses: it shows what the server says.
 */
(function () {
  "use strict";

  var setup = JSON.parse(document.getElementById("setup").textContent);
  var T = setup.texts;
  var queue = setup.queue;
  var ROOMS_KEY = "queue-app.staff.rooms";
  var cards = {};        // room id -> {el, parts}, built once so focus survives updates
  var inFlight = {};     // room id -> true while one of its requests is on the way

  function $(id) { return document.getElementById(id); }
  var fill = window.Dom.fill;
  var el = window.Dom.el;
  var roomNames = {};
  setup.rooms.forEach(function (r) { roomNames[r.id] = r.name; });
  var serviceNames = {};
  var serviceOrder = {};
  setup.services.forEach(function (s, i) { serviceNames[s.id] = s.name; serviceOrder[s.id] = i; });

  // One change as the server sends it to staff: the tickets it changed, whole, and the new
  // places of those it only moved.  Applied to the view held since connecting.
  function applyChanges(change) {
    var byId = {};
    (queue.waiting || []).concat(queue.in_rooms || []).forEach(function (t) { byId[t.id] = t; });
    (change.tickets || []).forEach(function (t) { byId[t.id] = t; });
    (change.places || []).forEach(function (p) {
      var t = byId[p[0]];
      if (!t) return;
      t.position = p[1];
      t.estimated_wait_minutes = p[2];
      t.estimate_low_minutes = p[3];
      t.estimate_high_minutes = p[4];
    });
    var all = Object.keys(byId).map(function (id) { return byId[id]; });
    queue.waiting = all.filter(function (t) { return t.status === "waiting"; }).sort(function (a, b) {
      var byService = (serviceOrder[a.service] || 0) - (serviceOrder[b.service] || 0);
      return byService || (a.position || 0) - (b.position || 0);
    });
    queue.in_rooms = all.filter(function (t) { return t.status === "called" || t.status === "in_consultation"; })
      .sort(function (a, b) { return String(a.called_at).localeCompare(String(b.called_at)); });
    queue.rooms = change.rooms;
    queue.services = change.services;
    queue.now = change.now;
    queue.version = change.version;
    renderQueue();
  }
  var timeFormat = new Intl.DateTimeFormat(setup.language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: setup.timezone });

  // -- my rooms, remembered per browser --------------------------------------------------------

  function myRooms() {
    try {
      var saved = JSON.parse(localStorage.getItem(ROOMS_KEY) || "[]");
      return saved.filter(function (id) { return roomNames[id]; });
    } catch (e) { return []; }
  }
  function saveRooms(ids) {
    try { localStorage.setItem(ROOMS_KEY, JSON.stringify(ids)); } catch (e) { /* private mode: not remembered */ }
  }
  var picker = $("room-picker");
  myRooms().forEach(function (id) {
    var box = picker.querySelector('input[value="' + id + '"]');
    if (box) box.checked = true;
  });
  picker.addEventListener("change", function () {
    var ids = Array.prototype.map.call(picker.querySelectorAll("input:checked"), function (b) { return b.value; });
    saveRooms(ids);
    buildCards();
    renderQueue();   // "only my rooms' services" follows the rooms chosen
  });

  // -- talking to the API ----------------------------------------------------------------------

  function api(method, path, body) {
    return fetch("/api/v1" + path, {
      method: method,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Content-Type": "application/json", Accept: "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      if (response.status === 401) {
        say(null, T.signed_out, true);
        setTimeout(function () { location.href = "/login?next=/staff"; }, 1500);
      }
      if (response.status === 204) return { status: 204, body: null };
      return response.json().then(function (json) { return { status: response.status, body: json }; },
        function () { return { status: response.status, body: null }; });
    });
  }

  function say(roomId, text, bad) {
    if (roomId && cards[roomId]) {
      var message = cards[roomId].parts.message;
      message.textContent = text;
      message.className = "room-message" + (bad ? " bad" : "");
    }
    $("announcer").textContent = text;
  }

  function roomAction(roomId, run) {
    // One request per room at a time: a double tap must never become a second call.
    if (inFlight[roomId]) return;
    inFlight[roomId] = true;
    updateCards();
    run().catch(function () { say(roomId, T.offline, true); })
      .then(function () { inFlight[roomId] = false; updateCards(); });
  }

  function errorText(roomId, result) {
    var error = result.body && result.body.error;
    if (error && error.code === "room_busy") return fill(T.room_busy, { room: roomNames[roomId] });
    if (error && error.code === "room_paused") return fill(T.room_paused, { room: roomNames[roomId] });
    return fill(T.failed, { message: error ? error.message : "HTTP " + result.status });
  }

  function callNext(roomId) {
    // A patient still on the way blocks the next call (the server would refuse it with 409):
    // said here at once, without a refused request in the browser's console.
    var current = roomState(roomId).current;
    if (current && current.status === "called") {
      say(roomId, fill(T.room_busy, { room: roomNames[roomId] }), true);
      return;
    }
    roomAction(roomId, function () {
      return api("POST", "/rooms/" + encodeURIComponent(roomId) + "/call-next").then(function (result) {
        if (result.status === 200) say(roomId, fill(T.now_called, { number: result.body.ticket.number, room: roomNames[roomId] }));
        else if (result.status === 204) say(roomId, fill(T.nobody_waiting, { room: roomNames[roomId] }));
        else say(roomId, errorText(roomId, result), true);
      });
    });
  }

  // What each action did, said in the clinic's words: "A-013 → Vaccination, place 15".
  var RESULTS = {
    recall: function (t, roomId) { return fill(T.result_recall, { number: t.number, room: roomNames[roomId] }); },
    start: function (t, roomId) { return fill(T.result_start, { number: t.number, room: roomNames[roomId] }); },
    finish: function (t) { return fill(T.result_finish, { number: t.number }); },
    "no-show": function (t) { return fill(T.result_no_show, { number: t.number }); },
    transfer: function (t) {
      return fill(T.result_transfer, { number: t.number, service: serviceNames[t.service] || t.service, n: t.position });
    },
  };

  function ticketAction(roomId, ticket, action, body) {
    roomAction(roomId, function () {
      return api("POST", "/tickets/" + ticket.id + "/" + action, body).then(function (result) {
        if (result.status === 200) say(roomId, RESULTS[action](result.body.ticket, roomId));
        else say(roomId, errorText(roomId, result), true);
      });
    });
  }

  function pauseOrResume(roomId, paused) {
    roomAction(roomId, function () {
      return api("POST", "/rooms/" + encodeURIComponent(roomId) + "/" + (paused ? "resume" : "pause")).then(function (result) {
        if (result.status !== 200) say(roomId, errorText(roomId, result), true);
        else say(roomId, fill(paused ? T.result_resumed : T.result_paused, { room: roomNames[roomId] }));
      });
    });
  }

  // -- room cards -----------------------------------------------------------------------------

  function roomState(roomId) {
    var room = (queue.rooms || []).filter(function (r) { return r.id === roomId; })[0] || { status: "open" };
    var current = (queue.in_rooms || []).filter(function (t) { return t.room === roomId; })[0] || null;
    return { room: room, current: current };
  }

  function buildCard(roomId) {
    var p = {};
    var titleId = "room-" + roomId + "-title";
    p.badge = el("span", { className: "badge" });
    p.state = el("p", { className: "state", "aria-live": "polite" });
    // While a called patient is on the way, the big button starts their consultation and
    // "Call next" steps back: the next call would pass over the patient at the door.
    p.startLabel = el("span", { className: "start-label" });
    p.sinceCall = el("span", { className: "since-call" });
    p.start = el("button", { type: "button", className: "button primary start-called", hidden: "" }, [p.startLabel, p.sinceCall]);
    p.call = el("button", { type: "button", className: "button primary call-next", text: T.call_next });
    p.recall = el("button", { type: "button", className: "button", text: T.recall });
    p.finish = el("button", { type: "button", className: "button", text: T.finish });
    p.noShow = el("button", { type: "button", className: "button", text: T.no_show });
    p.pause = el("button", { type: "button", className: "button pause-room" });
    p.message = el("p", { className: "room-message", role: "status" });
    var card = el("article", { className: "room-card", "aria-labelledby": titleId, "data-room": roomId }, [
      el("h3", { id: titleId }, [document.createTextNode(roomNames[roomId] + " "), p.badge]),
      p.state, p.start, p.call,
      el("div", { className: "actions" }, [p.recall, p.finish, p.noShow, p.pause]),
      transferForm(roomId, p),
      p.message,
    ]);
    p.call.addEventListener("click", function () { callNext(roomId); });
    [["recall", "recall"], ["start", "start"], ["finish", "finish"], ["noShow", "no-show"]].forEach(function (pair) {
      p[pair[0]].addEventListener("click", function () {
        var current = roomState(roomId).current;
        if (current) ticketAction(roomId, current, pair[1]);
      });
    });
    p.transfer.addEventListener("click", function () {
      var current = roomState(roomId).current;
      var keep = p.keepPlace.checked;
      if (current) ticketAction(roomId, current, "transfer", { service: p.transferTo.value, keep_place: keep });
    });
    p.pause.addEventListener("click", function () { pauseOrResume(roomId, roomState(roomId).room.status === "paused"); });
    return { el: card, parts: p };
  }

  // Transfer asks where the patient goes in the new line: their own place (by check-in
  // time, the default: they have waited once already) or the end of it.
  function transferForm(roomId, p) {
    var name = "place-" + roomId;
    p.transferTo = el("select", { "aria-label": T.transfer_to });
    setup.services.forEach(function (s) { p.transferTo.appendChild(el("option", { value: s.id, text: s.name })); });
    p.keepPlace = el("input", { type: "radio", name: name, value: "keep" });
    p.keepPlace.checked = true;
    p.toBack = el("input", { type: "radio", name: name, value: "back" });
    p.keepLabel = el("span");
    p.transfer = el("button", { type: "button", className: "button", text: T.transfer });
    return el("fieldset", { className: "transfer" }, [
      el("legend", { text: T.transfer_to }),
      p.transferTo,
      el("label", { className: "place" }, [p.keepPlace, p.keepLabel]),
      el("label", { className: "place" }, [p.toBack, el("span", { text: T.to_the_back })]),
      p.transfer,
    ]);
  }

  function buildCards() {
    var wanted = myRooms();
    var holder = $("room-cards");
    Object.keys(cards).forEach(function (id) {
      if (wanted.indexOf(id) < 0) { holder.removeChild(cards[id].el); delete cards[id]; }
    });
    wanted.forEach(function (id) {
      if (!cards[id]) cards[id] = buildCard(id);
      holder.appendChild(cards[id].el);   // keeps the configured order
    });
    if (!wanted.length) {
      if (!$("no-rooms")) holder.appendChild(el("p", { id: "no-rooms", className: "panel", text: T.choose_rooms_first }));
    } else if ($("no-rooms")) {
      holder.removeChild($("no-rooms"));
    }
    updateCards();
  }

  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

  function updateCards() {
    Object.keys(cards).forEach(function (roomId) {
      var p = cards[roomId].parts;
      var s = roomState(roomId);
      var paused = s.room.status === "paused";
      var current = s.current;
      var busy = !!inFlight[roomId];
      cards[roomId].el.classList.toggle("paused", paused);
      setText(p.badge, paused ? T.paused : T.open);
      p.badge.className = "badge " + (paused ? "paused" : "open");
      var onTheWay = !!current && current.status === "called";
      var state = !current ? T.free
        : onTheWay ? fill(T.called, { number: current.number })
        : fill(T.in_consultation, { number: current.number });
      setText(p.state, state);
      p.start.hidden = !onTheWay;
      if (onTheWay) {
        setText(p.startLabel, fill(T.start_number, { number: current.number }));
        setText(p.sinceCall, sinceCall(current.called_at));
      }
      p.call.classList.toggle("primary", !onTheWay);
      p.call.classList.toggle("secondary", onTheWay);
      p.call.disabled = busy || paused;
      p.call.setAttribute("aria-busy", busy ? "true" : "false");
      p.recall.disabled = busy || !onTheWay;
      p.start.disabled = busy || !onTheWay;
      p.noShow.disabled = busy || !onTheWay;
      p.finish.disabled = busy || !current;
      [p.transfer, p.transferTo, p.keepPlace, p.toBack].forEach(function (c) { c.disabled = busy || !current; });
      setText(p.keepLabel, current ? fill(T.keep_place_since, { time: timeFormat.format(new Date(current.checked_in_at)) }) : T.keep_place);
      setText(p.pause, paused ? T.resume : T.pause);
      p.pause.disabled = busy;
    });
  }

  // "called 3 min ago": how long the patient has been on the way, so staff know when to call again.
  function sinceCall(iso) {
    var minutes = minutesSince(iso);
    return minutes ? fill(T.since_call, { n: minutes }) : T.since_call_now;
  }

  // -- the live queue -------------------------------------------------------------------------

  function minutesSince(iso) {
    return iso ? Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000)) : null;
  }

  // -- messages: how far each one got, and the call list ------------------------------------

  var openHistories = {};   // ticket id -> true while staff keep its history open
  function named(prefix, value) { return T[prefix + value] || value || "–"; }
  function patientMessages(ticket) {
    return (ticket.messages || []).filter(function (m) { return m.route !== "webhook"; });
  }
  function messageLine(m) {
    var line = named("kind_", m.kind) + ": " + named("status_", m.status);
    if (m.channel) line += " (" + named("channel_", m.channel) + ")";
    return line;
  }

  function messagesCell(ticket) {
    // The latest message that was meant to go out ("not needed" ones only in the history).
    var mine = patientMessages(ticket).filter(function (m) { return m.status !== "skipped"; });
    var last = mine[mine.length - 1];
    var parts = [];
    // A patient who left no number and turned on nothing follows the TV: said plainly, not
    // as a failure, and not on the call list.
    if (ticket.needs_call) parts.push(el("span", { className: "badge unreachable", text: T.on_call_list }));
    else if (ticket.tv_only) parts.push(el("span", { className: "badge tv-only", text: T.tv_only }));
    else if (!ticket.reachable) parts.push(el("span", { className: "badge unreachable", text: T.unreachable }));
    if (last) {
      parts.push(el("span", { className: "message-state status-" + last.status, text: messageLine(last) }));
    } else if (ticket.reachable) {
      parts.push(el("span", { className: "muted", text: T.reachable }));
    }
    if ((ticket.messages || []).length) {
      var history = el("details", { className: "history" }, [
        el("summary", { text: fill(T.history, { n: ticket.messages.length }) }),
        el("ol", {}, ticket.messages.map(function (m) {
          var when = m.sent_at || m.created_at;
          var text = (when ? timeFormat.format(new Date(when)) + " " : "") + messageLine(m);
          if (m.attempts > 1) text += " · " + fill(T.tries, { n: m.attempts });
          if (m.error && m.status !== "sent" && m.status !== "delivered") text += " · " + m.error;
          return el("li", { className: "status-" + m.status, text: text });
        })),
      ]);
      if (openHistories[ticket.id]) history.open = true;
      history.addEventListener("toggle", function () { openHistories[ticket.id] = history.open; });
      parts.push(history);
    }
    return el("td", { className: "messages" }, parts);
  }

  function callReason(ticket) {
    var failed = patientMessages(ticket).filter(function (m) { return m.status === "failed" && m.channel; });
    if (!failed.length) return ticket.call_phone ? T.call_reason_no_channel : T.call_reason_none;
    var last = failed[failed.length - 1];
    return fill(T.call_reason_failed, { error: last.error || named("channel_", last.channel) });
  }

  function markReached(ticket, button) {
    button.disabled = true;
    api("POST", "/tickets/" + ticket.id + "/reached").then(function (result) {
      if (result.status === 200) say(null, fill(T.reached_done, { number: ticket.number }));
      else { button.disabled = false; say(null, errorText(null, result), true); }
    }, function () { button.disabled = false; say(null, T.offline, true); });
  }

  function renderCallList() {
    var list = $("call-list");
    list.textContent = "";
    var due = (queue.in_rooms || []).concat(queue.waiting || []).filter(function (t) { return t.needs_call; });
    setText($("call-count"), due.length ? "(" + due.length + ")" : "");
    $("call-list-panel").classList.toggle("has-calls", due.length > 0);
    if (!due.length) list.appendChild(el("li", { className: "muted", text: T.call_list_none }));
    due.forEach(function (t) {
      var where = t.room ? fill(T.call_status_called, { room: roomNames[t.room] || t.room })
        : fill(T.call_status_waiting, { n: t.position });
      var button = el("button", { type: "button", className: "button", text: T.reached,
                                  "aria-label": fill(T.reached_label, { number: t.number }) });
      button.addEventListener("click", function () { markReached(t, button); });
      var phone = t.call_phone
        ? el("a", { href: "tel:" + t.call_phone, className: "phone", text: fill(T.call_phone, { phone: t.call_phone_display || t.call_phone }) })
        : null;
      list.appendChild(el("li", { className: "call-item" }, [
        el("strong", { className: "num", text: t.number }),
        el("span", { text: where }),
        el("span", { className: "reason", text: callReason(t) }),
        phone,
        button,
      ]));
    });
  }

  // -- what today's messages cost (for the clinic owner) ---------------------------------------

  var costsTimer = null;
  function money(amount, currency) {
    try { return new Intl.NumberFormat(setup.language, { style: "currency", currency: currency }).format(amount); }
    catch (e) { return amount + " " + currency; }
  }
  function renderCosts(report) {
    var body = $("costs");
    body.textContent = "";
    if (!report.channels.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: "3", className: "muted", text: T.costs_none })]));
      return;
    }
    report.channels.forEach(function (c) {
      body.appendChild(el("tr", {}, [
        el("td", { text: named("channel_", c.channel) }),
        el("td", { className: "n", text: String(c.sent) }),
        el("td", { className: "n", text: money(c.cost, report.currency) }),
      ]));
    });
    body.appendChild(el("tr", { className: "total" }, [
      el("th", { scope: "row", text: T.costs_total }),
      el("td", { className: "n", text: String(report.channels.reduce(function (n, c) { return n + c.sent; }, 0)) }),
      el("td", { className: "n", text: money(report.total_cost, report.currency) }),
    ]));
  }
  function refreshCosts() {
    // At most one request per few seconds, however fast a burst of messages goes out.
    if (costsTimer) return;
    costsTimer = setTimeout(function () {
      costsTimer = null;
      api("GET", "/messages/costs").then(function (result) { if (result.status === 200) renderCosts(result.body); });
    }, 3000);
  }

  function updateMessage(data) {
    if (data.message.status === "sent" || data.message.status === "delivered") refreshCosts();
    var tickets = (queue.waiting || []).concat(queue.in_rooms || []);
    var ticket = tickets.filter(function (t) { return t.id === data.ticket_id; })[0];
    if (!ticket) return;
    ticket.needs_call = data.needs_call;
    ticket.messages = (ticket.messages || []).filter(function (m) { return m.id !== data.message.id; });
    ticket.messages.push(data.message);
    ticket.messages.sort(function (a, b) { return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0; });
    renderQueue();
  }

  // -- the tables, updated in place ----------------------------------------------------------
  //
  // On a busy day a change arrives every few seconds and the table holds 150 rows: each row
  // stays the same element for its ticket's life and is rebuilt only when what it shows
  // changed, so an open message history, the focus and the scroll position stay put.

  function syncRows(body, tickets, rowFor, emptyText, columns) {
    var rows = body._rows || (body._rows = {});
    var keep = {};
    var before = body.firstChild;
    tickets.forEach(function (t) {
      var old = rows[t.id];
      var row = rowFor(t, old);
      if (old && old !== row && old.parentNode) {
        if (old === before) before = old.nextSibling;
        body.removeChild(old);
      }
      rows[t.id] = row;
      keep[t.id] = true;
      if (row !== before) body.insertBefore(row, before);
      else before = before.nextSibling;
    });
    Object.keys(rows).forEach(function (id) {
      if (!keep[id]) { if (rows[id].parentNode) body.removeChild(rows[id]); delete rows[id]; }
    });
    var empty = body._empty || (body._empty = el("tr", { className: "empty" }, [
      el("td", { colspan: String(columns), className: "muted", text: emptyText })]));
    if (tickets.length && empty.parentNode) body.removeChild(empty);
    if (!tickets.length && !empty.parentNode) body.appendChild(empty);
  }

  // The row for ticket `t`: the old one if nothing it shows changed (the minutes waited and
  // the expected time tick in place), else a new one.
  function waitingRow(t, old) {
    var eta = t.estimated_wait_minutes == null ? "–"
      : fill(T.eta, { time: timeFormat.format(new Date(Date.now() + t.estimated_wait_minutes * 60000)) });
    var waited = fill(T.waited, { n: minutesSince(t.checked_in_at) });
    var look = JSON.stringify([t.number, t.priority, t.service, t.needs_call, t.reachable, t.tv_only, t.messages, t.late]);
    if (old && old._look === look) {
      setText(old._waited, waited);
      setText(old._eta, eta);
      return old;
    }
    var priority = t.priority !== "walk_in" ? el("span", { className: "badge urgent", text: T["priority_" + t.priority] }) : null;
    // Wrote "running late": the rooms pass over them until they are here (or reception says so).
    var late = t.late ? el("span", { className: "badge late", text: T.late }) : null;
    var arrived = t.late ? el("button", { type: "button", className: "small arrived", text: T.mark_arrived }) : null;
    if (arrived) arrived.addEventListener("click", function () { markArrived(t, arrived); });
    var row = el("tr", { className: t.needs_call || (!t.reachable && !t.tv_only) ? "needs-call" : "", "data-ticket": t.id }, [
      el("td", { className: "num" }, [document.createTextNode(t.number + " "), priority, late, arrived]),
      el("td", { text: serviceNames[t.service] || t.service }),
      el("td", { text: waited }),
      el("td", { text: eta }),
      messagesCell(t),
    ]);
    row._look = look;
    row._waited = row.children[2];
    row._eta = row.children[3];
    return row;
  }

  function markArrived(t, button) {
    button.disabled = true;
    api("POST", "/tickets/" + t.id + "/arrived").then(function (result) {
      if (result.status === 200) say(null, fill(T.arrived_done, { number: t.number }));
      else {
        button.disabled = false;
        say(null, errorText(null, result), true);
      }
    }, function () { button.disabled = false; say(null, fill(T.failed, { message: T.offline || "" }), true); });
  }

  function inRoomRow(t, old) {
    var look = JSON.stringify([t.number, t.room, t.status, t.needs_call, t.reachable, t.tv_only, t.messages]);
    if (old && old._look === look) return old;
    var row = el("tr", { "data-ticket": t.id }, [
      el("td", { className: "num", text: t.number }),
      el("td", { text: roomNames[t.room] || t.room }),
      el("td", { text: t.status === "called" ? fill(T.called, { number: "" }).trim() : fill(T.in_consultation, { number: "" }).trim() }),
      messagesCell(t),
    ]);
    row._look = look;
    return row;
  }

  // -- only my rooms' services -----------------------------------------------------------------

  var ONLY_MINE_KEY = "queue-app.staff.only-mine";
  var onlyMine = $("only-mine");
  try { onlyMine.checked = localStorage.getItem(ONLY_MINE_KEY) === "1"; } catch (e) { /* not remembered */ }
  onlyMine.addEventListener("change", function () {
    try { localStorage.setItem(ONLY_MINE_KEY, onlyMine.checked ? "1" : "0"); } catch (e) { /* not remembered */ }
    renderQueue();
  });

  // The services my chosen rooms call for; null when the filter is off or no room is chosen.
  function myServices() {
    var rooms = myRooms();
    if (!onlyMine.checked || !rooms.length) return null;
    var services = {};
    setup.rooms.forEach(function (r) {
      if (rooms.indexOf(r.id) >= 0) r.services.forEach(function (s) { services[s] = true; });
    });
    return services;
  }

  function renderQueue() {
    var mine = myServices();
    var shown = (queue.waiting || []).filter(function (t) { return !mine || mine[t.service]; });
    var counts = $("counts");
    counts.textContent = "";
    (queue.services || []).forEach(function (s) {
      if (mine && !mine[s.id]) return;
      counts.appendChild(el("li", { text: (serviceNames[s.id] || s.id) + ": " + s.waiting }));
    });
    // A long day's table gets compact rows, so a screen holds a useful part of it.
    $("queue-area").classList.toggle("busy", shown.length > 20);
    syncRows($("waiting"), shown, waitingRow, T.nobody, 5);
    syncRows($("in-rooms"), queue.in_rooms || [], inRoomRow, T.nobody_in_rooms, 4);
    renderCallList();
    updateCards();
  }

  // -- live updates ---------------------------------------------------------------------------

  var conn = $("conn");
  var liveText = conn.textContent;
  function setOnline(online) {
    conn.classList.toggle("offline", !online);
    conn.textContent = online ? liveText : T.offline;
  }

  if (window.io) {
    var socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () { setOnline(true); });
    socket.on("disconnect", function () { setOnline(false); });
    socket.on("connect_error", function (err) {
      setOnline(false);
      if (err && err.message === "authentication required") location.href = "/login?next=/staff";
    });
    window.followQueue(socket, function (view) { queue = view; renderQueue(); }, "staff_changes", applyChanges);
    socket.on("delivery", updateMessage);
    window.staffSocket = socket;   // the inbox (inbox.js) listens on this one connection too
  }
  // "Waited" grows by itself; one timer for the page's whole life.
  setInterval(renderQueue, 30000);
  setInterval(updateCards, 15000);   // "called 3 min ago" on the start button

  buildCards();
  renderQueue();
  renderCosts(setup.costs);
})();
