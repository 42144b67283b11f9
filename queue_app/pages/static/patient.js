/* The patient's phone page, kept live.
 *
 * The server rendered the whole page already (it works without this script); this keeps it
 * up to date over Socket.IO: `ticket` is our own ticket when it changes, `place` our place and
 * range when a change moved them; only this phone is sent them, and each says which of ours
 * came before it, so a missed one is noticed and the whole ticket asked for again.
 * When the socket is down we poll the API instead.  When we
 * are called (and called again), the phone vibrates and rings if the page is open.
 *
 * "Notify me" reaches the patient with the page closed: one tap unlocks sound and vibration,
 * asks the browser's permission, registers the service worker (/t/sw.js, scoped to this
 * ticket) and sends its push subscription.  What the clinic offers (push, Telegram, texts,
 * the lead-time choices) comes from the server in the page's data.
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
  var reach = data.reach || {};
  var ordinals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(data.language, { type: "ordinal" }) : null;

  function $(id) { return document.getElementById(id); }

  var fill = window.Dom.fill;
  // The clinic's time in the one format the server renders too (14:05), whatever the phone's zone.
  var clinicTime = new Intl.DateTimeFormat(data.language, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: data.timezone,
  });

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

  function recallText(v) {
    if (v.status !== "called" || !(v.call_count >= 2)) return "";
    var form = ordinals ? ordinals.select(v.call_count) : "other";
    return fill(T["recalled_" + form] || T.recalled_other, { n: v.call_count });
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
    var recall = recallText(v);
    if ($("recall").textContent !== recall) $("recall").textContent = recall;
    $("recall").hidden = !recall;
    // "Please go to room 3" only while called: inside the room it would read as a mistake.
    var showRoom = v.status === "called" && roomName(v);
    var roomText = showRoom ? fill(T.go_to_room, { room: roomName(v) }) : "";
    if ($("room").textContent !== roomText) $("room").textContent = roomText;
    $("room").hidden = !showRoom;
    // Wrote "running late" (or reception marked it): say what that means until they are here.
    $("late-note").hidden = !(v.late && v.status === "waiting");
    $("facts").hidden = v.status !== "waiting";
    // The value only ("8"): its label already says "Ahead of you".
    $("ahead").textContent = v.ahead == null ? "–" : v.ahead === 0 ? T.you_are_next : fill(T.ahead_count, { n: v.ahead });
    $("wait").textContent = waitText(v);
    var leave = $("leave");
    if (leave) leave.hidden = !(v.status === "waiting" || v.status === "called");
    var hint = $("hint");
    // "It rings when it is your turn" only while waiting: once called, it is the turn.
    if (hint) hint.hidden = v.status !== "waiting";
    showReach(v);
    $("updated").textContent = fill(T.updated, { time: clinicTime.format(new Date()) });
    document.title = v.number + " · " + statusText;

    var newlyCalled = v.status === "called" && previous &&
      (previous.status !== "called" || (v.called_at && v.called_at !== previous.called_at));
    // A recall may keep called_at; the call count always goes up.
    var calledAgain = v.status === "called" && previous && previous.status === "called" &&
      (v.call_count || 0) > (previous.call_count || 0);
    if (newlyCalled || calledAgain) alertPatient(v);
  }

  function update(next) {
    var previous = view;
    view = Object.assign({}, view, next);
    render(view, previous);
    if (CLOSED.indexOf(view.status) >= 0) stopLive();
  }

  // -- being called: vibrate and ring -------------------------------------------------------

  // The first touch anywhere unlocks sound (sound.js); "Notify me" and Telegram unlock it too.
  var unlockAudio = window.Sound.unlock;

  function ring() {
    window.Sound.play([0, 0.45, 0.9].map(function (at, i) {
      return { at: at, frequency: i === 2 ? 1046 : 880, length: 0.4, volume: 0.5 };
    }));
  }

  function alertPatient() {
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 600]);
    ring();
    $("main").classList.add("just-called");
    setTimeout(function () { $("main").classList.remove("just-called"); }, 6000);
  }

  // -- reaching the patient with the page closed: push, Telegram, texts, lead time --------------

  function showReach(v) {
    var section = $("reach");
    if (!section) return;
    section.hidden = !(v.status === "waiting" || v.status === "called");
    var lead = $("lead");
    if (lead) lead.hidden = v.status !== "waiting";
  }

  function ticketApi(method, path, body) {
    return fetch("/api/v1/tickets/" + encodeURIComponent(token) + path, {
      method: method,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Requested-With": "fetch" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.ok) return answer;
        var error = new Error((answer.error && answer.error.message) || "HTTP " + response.status);
        error.status = response.status;
        error.field = answer.error && answer.error.field;
        throw error;
      });
    });
  }

  // One place tells the patient how it went; data-outcome names it for the tests and styles.
  function tell(key, values) {
    var status = $("notify-status");
    var text = key ? fill(T[key], values || {}) : "";
    var offersText = reach.text && $("text-me") && !$("text-me").hidden;
    if (offersText && (key === "notify_unsupported" || key === "notify_unreachable")) text += " " + T.notify_or_text;
    status.textContent = text;
    $("reach").setAttribute("data-outcome", key || "");
  }

  function outcome(key) {
    var error = new Error(key);
    error.outcome = key;
    return error;
  }

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function pushSupported() {
    // iPhone Safari has none of these outside a page added to the home screen.
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function askPermission() {
    // Older Safari answers through a callback instead of a promise.
    return new Promise(function (resolve) {
      var answer = Notification.requestPermission(resolve);
      if (answer && answer.then) answer.then(resolve);
    });
  }

  function pushRegistration() {
    // Scoped to this ticket: a second ticket on the same phone keeps its own subscription.
    return navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" + encodeURIComponent(token) })
      .then(function () { return navigator.serviceWorker.ready; });
  }

  function setSubscribed(on) {
    var had = document.activeElement;
    $("notify-me").hidden = on;
    $("notify-off").hidden = !on;
    // The pressed button just disappeared: put focus on the one that took its place.
    if (had === $("notify-me") || had === $("notify-off")) (on ? $("notify-off") : $("notify-me")).focus();
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }

  function notifyMe() {
    var button = $("notify-me");
    // The tap itself is what lets the page ring and vibrate later.
    unlockAudio();
    if (navigator.vibrate) navigator.vibrate(80);
    if (!reach.push) { tell("sound_on"); return; }
    if (!pushSupported()) { tell("notify_unsupported"); return; }
    busy(button, true);
    tell("notify_working");
    askPermission()
      .then(function (permission) {
        if (permission === "denied") throw outcome("notify_blocked");
        if (permission !== "granted") throw outcome("notify_dismissed");
        return pushRegistration().catch(function () { throw outcome("notify_unsupported"); });
      })
      .then(function (registration) {
        return registration.pushManager.getSubscription().then(function (existing) {
          return existing || registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(reach.push),
          });
        }).catch(function (error) {
          // NotAllowedError: permission taken back meanwhile; anything else (AbortError,
          // a network error): the browser's push service did not answer.
          throw outcome(error && error.name === "NotAllowedError" ? "notify_blocked" : "notify_unreachable");
        });
      })
      .then(function (subscription) {
        return ticketApi("POST", "/push", subscription.toJSON()).catch(function (error) {
          if (error.status === 409) poll();
          throw outcome("save_failed");
        });
      })
      .then(function () { setSubscribed(true); tell("notify_on"); })
      .catch(function (error) { tell(error.outcome || "notify_unreachable"); })
      .then(function () { busy(button, false); });
  }

  function turnOff() {
    var button = $("notify-off");
    busy(button, true);
    ticketApi("DELETE", "/push")
      .then(function () {
        if (!("serviceWorker" in navigator)) return null;
        return navigator.serviceWorker.getRegistration(location.href)
          .then(function (registration) { return registration && registration.pushManager.getSubscription(); })
          .then(function (subscription) { return subscription && subscription.unsubscribe(); })
          .catch(function () { return null; });  // the server forgot it: nothing more is sent
      })
      .then(function () { setSubscribed(false); tell("notify_off"); }, function () { tell("save_failed"); })
      .then(function () { busy(button, false); });
  }

  function openTelegram() {
    var button = $("telegram");
    unlockAudio();
    busy(button, true);
    ticketApi("POST", "/telegram")
      .then(function (answer) {
        var opened = window.open(answer.url, "_blank");
        if (opened) opened.opener = null; else location.assign(answer.url);
      })
      .catch(function () { tell("telegram_failed"); })
      .then(function () { busy(button, false); });
  }

  function toggleTextForm() {
    var form = $("text-form");
    var open = form.hidden;
    form.hidden = !open;
    $("text-me").setAttribute("aria-expanded", String(open));
    if (open) $("text-phone").focus();
  }

  function fieldError(key, input) {
    var error = $("text-error");
    error.textContent = key ? T[key] : "";
    error.hidden = !key;
    ["text-phone", "text-consent"].forEach(function (id) {
      if (id === input) $(id).setAttribute("aria-invalid", "true"); else $(id).removeAttribute("aria-invalid");
    });
    if (input) $(input).focus();
  }

  function sendPhone(event) {
    event.preventDefault();
    var button = $("text-send");
    busy(button, true);
    fieldError(null);
    ticketApi("POST", "/phone", { phone: $("text-phone").value, consent: $("text-consent").checked })
      .then(function (answer) {
        $("text-form").hidden = true;
        $("text-me").hidden = true;
        tell("text_saved", { phone: answer.phone });
        $("notify-status").focus();
      })
      .catch(function (error) {
        if (error.field === "phone") fieldError("phone_invalid", "text-phone");
        else if (error.field === "consent") fieldError("consent_needed", "text-consent");
        else fieldError("save_failed");
      })
      .then(function () { busy(button, false); });
  }

  function chooseLead(event) {
    var input = event.target;
    if (input.name !== "lead") return;
    var minutes = Number(input.value);
    ticketApi("PUT", "/lead", { minutes: minutes })
      .then(function (answer) {
        view.lead_minutes = answer.lead_minutes;
        $("lead-status").textContent = fill(T.lead_saved, { n: answer.lead_minutes });
      })
      .catch(function () {
        $("lead-status").textContent = T.save_failed;
        var chosen = view.lead_minutes || reach.lead.default;
        var radios = document.getElementsByName("lead");
        for (var i = 0; i < radios.length; i++) radios[i].checked = Number(radios[i].value) === chosen;
      });
  }

  if ($("reach")) {
    $("notify-me").addEventListener("click", notifyMe);
    $("notify-off").addEventListener("click", turnOff);
    if ($("telegram")) $("telegram").addEventListener("click", openTelegram);
    if ($("text-me")) $("text-me").addEventListener("click", toggleTextForm);
    if ($("text-form")) $("text-form").addEventListener("submit", sendPhone);
    if ($("lead")) $("lead").addEventListener("change", chooseLead);
    showReach(view);
  }

  // -- our place: the server sends it to this phone when it moves -----------------------------

  function fromPlace(place) {
    if (view.status === "waiting" && place) update(place);
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
    // This phone is sent only its own news.  Each event says which of our events came before
    // it (`since`); one we never saw means something was missed, and the whole ticket is
    // asked for again.  `since` null: the server sends it as whole, nothing to check.
    var lastMark = view.mark == null ? null : view.mark;
    var personal = function (apply) {
      return function (event) {
        if (event.since != null && lastMark != null && event.since !== lastMark) socket.emit("resync");
        lastMark = event.mark == null ? null : event.mark;
        apply(event);
      };
    };
    socket.on("ticket", personal(update));
    socket.on("place", personal(fromPlace));
    // The servers could not pass everything on for a while (their message queue was away).
    socket.on("missed", function () { socket.emit("resync"); });
    window.patientSocket = socket;   // "Message reception" (conversation.js) listens on it too
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
