/* The waiting-room TV: now calling, the last calls, each service's wait, the clock.
 *
 * Built to stay on for weeks: the state is replaced whole by every `queue` snapshot (the
 * server sends one on every connect, so a reconnect after a restart cannot leave stale
 * numbers), lists are capped, there is one clock timer and one set of socket listeners for
 * the page's whole life, and the page reloads itself once a night to start clean.
 */
(function () {
  "use strict";

  var LAST_CALLS = 6;
  var FLASH_MS = 6000;
  var OFFLINE_AFTER_MS = 2000;
  var NIGHTLY_RELOAD_HOUR = 3;
  var SOUND_KEY = "queue-display-sound";   // "on" | "off": asked once on this screen
  var setup = null;
  var state = { services: [], calls: [], rooms: [] };
  var announcer = null;
  var flashTimer = null;
  var fresh = {};             // room id -> {number, until}: the call highlighted in its row
  var offlineTimer = null;
  var socket = null;

  function $(id) { return document.getElementById(id); }
  function text(lang, key, values) {
    return window.Dom.fill((setup.texts[lang] || {})[key] || key, values);
  }
  function others() {
    return setup.languages.map(function (l) { return l.code; }).filter(function (c) { return c !== setup.default_language; });
  }
  /** The main language large, the others smaller after it: everyone in the room can read it. */
  function multi(node, key, values) {
    node.textContent = text(setup.default_language, key, values);
    others().forEach(function (code) {
      var span = document.createElement("span");
      span.className = "other";
      span.lang = code;
      span.textContent = text(code, key, values);
      node.appendChild(document.createTextNode(" "));
      node.appendChild(span);
    });
  }
  function nameIn(names, code, fallback) { return (names && (names[code] || names[setup.default_language])) || fallback || ""; }

  /** "A-007" spoken as "A 7": speech engines read leading zeros and dashes badly. */
  function spokenNumber(number) {
    var m = /^([A-Z]+)-?0*(\d+)$/.exec(number || "");
    return m ? m[1].split("").join(" ") + " " + m[2] : number;
  }

  /** The clinic's local time now, in minutes after midnight. */
  function clinicMinutes() {
    var parts = minuteFormat.formatToParts(new Date());
    var get = function (type) { return Number(parts.filter(function (p) { return p.type === type; })[0].value); };
    return (get("hour") % 24) * 60 + get("minute");
  }
  function closesMinutes() {
    var m = /^(\d{1,2}):(\d{2})$/.exec((setup.hours && setup.hours.closes) || "");
    return m ? Number(m[1]) * 60 + Number(m[2]) : null;
  }
  function waitText(lang, s) {
    var T = function (key, values) { return text(lang, key, values); };
    return window.DisplayWait.text(T, s, clinicMinutes(), closesMinutes());
  }

  // -- rendering -----------------------------------------------------------------------------

  function renderLabels() {
    document.documentElement.lang = setup.default_language;
    document.title = setup.clinic;
    $("clinic").textContent = setup.clinic;
    multi($("now-label"), "now_calling");
    multi($("recent-label"), "last_calls");
    multi($("services-label"), "waiting");
    multi($("now-idle"), "please_wait");
    multi($("offline"), "reconnecting");
    multi($("sound-hint"), "sound_off");
    multi($("sound-setup-title"), "sound_setup_title");
    multi($("sound-setup-text"), "sound_setup_text");
    multi($("sound-on"), "sound_turn_on");
    multi($("sound-off"), "sound_keep_off");
  }

  /** The number a room is calling: none once the patient is inside (started). */
  function calling(room) {
    return room.inside ? null : room.serving;
  }

  /** The numbers shown in the rooms' rows: the history below lists the others. */
  function servingNumbers() {
    return state.rooms.map(calling).filter(Boolean);
  }

  function renderNow() {
    var list = $("room-calls");
    var now = Date.now();
    var anyone = false;
    var nextExpiry = null;
    list.textContent = "";
    state.rooms.forEach(function (room) {
      var li = document.createElement("li");
      li.className = "room-row";
      li.setAttribute("data-room", room.id);
      var name = document.createElement("span");
      name.className = "room-name";
      name.textContent = nameIn(room.names, setup.default_language, room.name || room.id);
      var number = document.createElement("span");
      number.className = "room-number";
      var called = calling(room);
      if (called) {
        anyone = true;
        number.textContent = called;
        var f = fresh[room.id];
        if (f && f.number === called && f.until > now) {
          li.classList.add("fresh");
          if (f.pulse) { li.classList.add("pulse"); }
          nextExpiry = nextExpiry === null ? f.until : Math.min(nextExpiry, f.until);
        }
      } else {
        li.classList.add("free");
        number.textContent = room.status === "paused" ? text(setup.default_language, "paused") : "–";
      }
      li.appendChild(name);
      li.appendChild(number);
      list.appendChild(li);
    });
    $("now-idle").hidden = anyone;
    // One timer: the row whose highlight ends first is redrawn then.
    clearTimeout(flashTimer);
    if (nextExpiry !== null) flashTimer = setTimeout(render, nextExpiry - now + 50);
  }

  function renderCalls() {
    var list = $("calls");
    var shown = servingNumbers();
    list.textContent = "";
    state.calls.filter(function (call) { return shown.indexOf(call.number) < 0; }).slice(0, LAST_CALLS).forEach(function (call) {
      var li = document.createElement("li");
      var number = document.createElement("span");
      number.className = "num";
      number.textContent = call.number;
      var room = document.createElement("span");
      room.className = "to";
      room.textContent = nameIn(call.room_names, setup.default_language, call.room);
      li.appendChild(number);
      li.appendChild(room);
      list.appendChild(li);
    });
  }

  function renderServices() {
    var list = $("service-list");
    list.textContent = "";
    state.services.forEach(function (s) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = nameIn(s.names, setup.default_language, s.id);
      others().forEach(function (code) {
        var other = document.createElement("span");
        other.className = "other";
        other.lang = code;
        other.textContent = nameIn(s.names, code, "");
        name.appendChild(document.createTextNode(" "));
        name.appendChild(other);
      });
      var count = document.createElement("span");
      count.className = "count";
      count.textContent = String(s.waiting);
      count.setAttribute("aria-label", text(setup.default_language, "waiting_count", { n: s.waiting }));
      var wait = document.createElement("span");
      wait.className = "wait";
      wait.textContent = waitText(setup.default_language, s);
      li.appendChild(name);
      li.appendChild(count);
      li.appendChild(wait);
      list.appendChild(li);
    });
  }

  function render() { renderNow(); renderCalls(); renderServices(); }

  /** A call just made: its room's row is highlighted for a while (each room its own). */
  function markFresh(call) {
    fresh[call.room] = { number: call.number, until: Date.now() + FLASH_MS, pulse: true };
  }

  // -- the clock, and the nightly fresh start --------------------------------------------------

  var clockFormat = null;
  var hourFormat = null;
  var minuteFormat = null;
  var startedAt = Date.now();
  function tickClock() {
    var now = new Date();
    $("clock").textContent = clockFormat.format(now);
    // Once a night, when connected (a reload while the server is down would show an error
    // page), start clean.  Not within the first hour, so a reload cannot loop.
    var hour = Number(hourFormat.format(now)) % 24;
    if (hour === NIGHTLY_RELOAD_HOUR && Date.now() - startedAt > 3600 * 1000 && socket && socket.connected) {
      location.reload();
    }
  }

  // -- live ----------------------------------------------------------------------------------

  function setOnline(online) {
    clearTimeout(offlineTimer);
    if (online) { $("offline").hidden = true; return; }
    offlineTimer = setTimeout(function () { $("offline").hidden = false; }, OFFLINE_AFTER_MS);
  }

  function connect() {
    socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () { setOnline(true); });
    socket.on("disconnect", function () { setOnline(false); });
    socket.on("connect_error", function (err) {
      setOnline(false);
      // Unpaired (the token was revoked): reload to show how to pair again.
      if (err && err.message === "authentication required") setTimeout(function () { location.reload(); }, 10000);
    });
    window.followQueue(socket, function (view) {
      state = { services: view.services || [], calls: (view.calls || []).slice(0, 1 + LAST_CALLS), rooms: view.rooms || [] };
      render();
    });
    socket.on("called", function (call) {
      // Shown at once (the queue snapshot that follows agrees), then flashed and announced.
      state.calls = [call].concat(state.calls.filter(function (c) { return c.number !== call.number; })).slice(0, 1 + LAST_CALLS);
      state.rooms.forEach(function (room) {
        if (room.id === call.room) { room.serving = call.number; room.inside = false; }
      });
      markFresh(call);
      render();
      announcer.announce(call);
    });
  }

  // -- sound: part of setting the screen up, never a banner over the live data ---------------

  function soundChoice() { try { return localStorage.getItem(SOUND_KEY); } catch (e) { return null; } }
  function keepSoundChoice(choice) { try { localStorage.setItem(SOUND_KEY, choice); } catch (e) { /* private mode */ } }

  function setUpSound() {
    var choice = soundChoice();
    announcer.muted = choice === "off";
    var dialog = $("sound-setup");
    function chosen(value) {
      keepSoundChoice(value);
      announcer.muted = value === "off";
      if (value === "on") announcer.unlock();
      if (dialog.open) dialog.close();
      $("sound-hint").hidden = true;
    }
    $("sound-on").addEventListener("click", function () { chosen("on"); });
    $("sound-off").addEventListener("click", function () { chosen("off"); });
    if (choice === null && announcer.soundBlocked()) {
      // The first showing after pairing: someone is at the screen with the remote or a finger.
      dialog.showModal();
      $("sound-on").focus();
      return;
    }
    // Announcements chosen but the browser holds sound back after a restart: a small notice in
    // the header, which covers nothing, until somebody touches the screen.
    $("sound-hint").hidden = !(choice !== "off" && announcer.soundBlocked());
    document.addEventListener("pointerdown", function () {
      if (announcer.muted) return;
      announcer.unlock();
      $("sound-hint").hidden = true;
    });
  }

  function start() {
    fetch("/display/setup.json", { cache: "no-store" }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error("unpaired"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (json) {
      setup = json;
      clockFormat = new Intl.DateTimeFormat(setup.default_language, { hour: "2-digit", minute: "2-digit", timeZone: setup.timezone });
      hourFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hour12: false, timeZone: setup.timezone });
      minuteFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: setup.timezone });
      announcer = new window.Announcer({
        languages: setup.languages,
        phrase: function (call, code) {
          return text(code, "announce", { number: spokenNumber(call.number), room: nameIn(call.room_names, code, call.room) });
        },
      });
      renderLabels();
      render();
      tickClock();
      setInterval(tickClock, 1000);
      setUpSound();
      connect();
    }, function () { setTimeout(start, 3000); });
  }
  start();
})();
