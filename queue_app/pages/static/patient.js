/* The patient's phone page, kept live.
 *
 * The server rendered the whole page already (it works without this script); this keeps it
 * up to date over Socket.IO: `ticket` is our own ticket, `queue` is the public view from which
 * we work out our own place and estimate (the server sends one broadcast to every phone
 * instead of one message each).  When the socket is down we poll the API instead.  When we
 * are called, the phone vibrates and rings if the page is open.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("page-data").textContent);
  var T = data.texts;
  var token = data.token;
  var view = data.view;
  var CLOSED = ["finished", "left", "no_show", "cancelled", "expired"];
  var POLL_MS = 15000;
  var pollTimer = null;
  var offlineTimer = null;
  var audio = null;

  function $(id) { return document.getElementById(id); }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] === undefined ? all : String(values[name]);
    });
  }

  function waitText(v) {
    if (v.status !== "waiting") return "–";
    var low = v.estimate_low_minutes, high = v.estimate_high_minutes;
    if (low != null && high != null && Math.round(high) > Math.round(low)) {
      return fill(T.wait_range, { low: Math.round(low), high: Math.round(high) });
    }
    var n = v.estimated_wait_minutes;
    if (n == null) return "–";
    return Math.round(n) <= 0 ? T.wait_none : fill(T.wait_about, { n: Math.round(n) });
  }

  function roomName(v) {
    return (v.room_names && v.room_names[data.language]) || v.room || "";
  }

  function render(v, previous) {
    var main = $("main");
    main.className = "patient status-" + v.status;
    main.setAttribute("data-status", v.status);
    $("number").textContent = v.number;
    var serviceName = (v.service_names && v.service_names[data.language]) || v.service;
    $("service").textContent = serviceName;
    var statusText = T[v.status] || v.status;
    // Only touch the live region when something changed, or screen readers repeat it.
    if ($("status-text").textContent !== statusText) $("status-text").textContent = statusText;
    var showRoom = (v.status === "called" || v.status === "in_consultation") && roomName(v);
    var roomText = showRoom ? fill(T.go_to_room, { room: roomName(v) }) : "";
    if ($("room").textContent !== roomText) $("room").textContent = roomText;
    $("room").hidden = !showRoom;
    $("facts").hidden = v.status !== "waiting";
    $("ahead").textContent = v.ahead == null ? "–" : v.ahead === 0 ? T.you_are_next : fill(T.ahead, { n: v.ahead });
    $("wait").textContent = waitText(v);
    var leave = $("leave");
    if (leave) leave.hidden = !(v.status === "waiting" || v.status === "called");
    var hint = $("hint");
    if (hint) hint.hidden = CLOSED.indexOf(v.status) >= 0;
    $("updated").textContent = fill(T.updated, {
      time: new Date().toLocaleTimeString(data.language, { hour: "2-digit", minute: "2-digit" }),
    });
    document.title = v.number + " · " + statusText;

    var newlyCalled = v.status === "called" && previous &&
      (previous.status !== "called" || (v.called_at && v.called_at !== previous.called_at));
    if (newlyCalled) alertPatient(v);
  }

  function update(next) {
    var previous = view;
    view = Object.assign({}, view, next);
    render(view, previous);
    if (CLOSED.indexOf(view.status) >= 0) stopLive();
  }

  // -- being called: vibrate and ring -------------------------------------------------------

  function unlockAudio() {
    // Phones only let a page make sound after a touch; the first touch anywhere unlocks it.
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });

  function ring() {
    if (!audio || audio.state !== "running") return;
    var now = audio.currentTime;
    [0, 0.45, 0.9].forEach(function (offset, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = i === 2 ? 1046 : 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.5, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.42);
    });
  }

  function alertPatient() {
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 600]);
    ring();
    $("main").classList.add("just-called");
    setTimeout(function () { $("main").classList.remove("just-called"); }, 6000);
  }

  // -- our place, worked out from the public queue ----------------------------------------------

  function fromQueue(queue) {
    if (view.status !== "waiting" || !queue || !queue.services) return;
    for (var i = 0; i < queue.services.length; i++) {
      var service = queue.services[i];
      if (service.id !== view.service) continue;
      for (var j = 0; j < service.line.length; j++) {
        var entry = service.line[j];
        if (entry[0] === view.number) {
          update({
            ahead: j,
            position: j + 1,
            estimate_low_minutes: entry[1],
            estimate_high_minutes: entry[2],
            estimated_wait_minutes: entry[1] != null && entry[2] != null ? (entry[1] + entry[2]) / 2 : view.estimated_wait_minutes,
          });
          return;
        }
      }
    }
  }

  // -- live: Socket.IO, and polling while it is down ----------------------------------------------

  function poll() {
    fetch("/api/v1/tickets/" + encodeURIComponent(token), { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 404) { location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (body) { if (body) { update(body); setOnline(true); } })
      .catch(function () { setOnline(false); });
  }

  function startPolling() {
    if (pollTimer === null) pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
  }

  function setOnline(online) {
    clearTimeout(offlineTimer);
    if (online) { $("connection").hidden = true; return; }
    // A blip of a second is not worth alarming anyone about.
    offlineTimer = setTimeout(function () { $("connection").hidden = false; }, 3000);
  }

  var socket = null;

  function stopLive() {
    stopPolling();
    if (socket) { socket.disconnect(); socket = null; }
    setOnline(true);
  }

  if (CLOSED.indexOf(view.status) < 0 && window.io) {
    socket = window.io({ auth: { ticket: token }, transports: ["websocket", "polling"] });
    socket.on("connect", function () { setOnline(true); stopPolling(); });
    socket.on("disconnect", function () { setOnline(false); startPolling(); });
    socket.on("connect_error", function (err) {
      if (err && err.message === "unknown ticket") { stopLive(); location.reload(); return; }
      setOnline(false);
      startPolling();
    });
    socket.on("ticket", function (ticket) { update(ticket); });
    socket.on("queue", fromQueue);
  } else if (CLOSED.indexOf(view.status) < 0) {
    startPolling();
  }

  // -- leaving the queue ----------------------------------------------------------------------

  var leave = $("leave");
  var dialog = $("leave-dialog");
  if (leave && dialog && dialog.showModal) {
    leave.addEventListener("click", function (event) {
      event.preventDefault();
      $("leave-error").hidden = true;
      dialog.showModal();
    });
    $("leave-no").addEventListener("click", function () { dialog.close(); });
    $("leave-yes").addEventListener("click", function () {
      var button = $("leave-yes");
      button.disabled = true;
      fetch("/api/v1/tickets/" + encodeURIComponent(token), {
        method: "DELETE",
        headers: { "X-Requested-With": "fetch", Accept: "application/json" },
      })
        .then(function (response) {
          if (response.ok || response.status === 409) return response.status === 409 ? poll() : response.json().then(update);
          throw new Error("HTTP " + response.status);
        })
        .then(function () { dialog.close(); $("status-text").focus(); })
        .catch(function () { $("leave-error").textContent = T.leave_failed; $("leave-error").hidden = false; })
        .then(function () { button.disabled = false; });
    });
  }
  $("status-text").setAttribute("tabindex", "-1");
})();
