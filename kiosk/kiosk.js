/* The reception kiosk: pick a service, optionally leave a phone number, get a number.
 *
 * Rules it keeps:
 * - it never shows a ticket the server did not confirm (only a 200/201 answer with a token);
 * - one Idempotency-Key per check-in attempt, reused by every automatic retry of it (and by
 *   a second press with the same details), so a tap that reaches the server twice makes one
 *   ticket;
 * - a 503 "unavailable" (the clinic's database is away) is not a failure: the patient is asked
 *   to try again, and "Try again" resends the same attempt;
 * - no time limit while a patient is choosing; the result screen goes back to the start after
 *   `[kiosk] ticket_seconds` (setup.json's ticket_seconds) without a touch, with a visible
 *   countdown; a half-filled form asks "are you still there?" after two minutes before it
 *   clears a phone number for the next person;
 * - the ticket's QR code (the patient's link, which can cancel the place) disappears after
 *   10 s, or half the ticket time when that is shorter, touch or not: the next person in line
 *   must not be able to scan it;
 * - outside the clinic's opening hours (setup.json's hours, in the clinic's time zone) the
 *   start screen says when check-in opens instead of offering services.
 */
(function () {
  "use strict";

  var RESULT_IDLE_S = 20;      // replaced by setup.ticket_seconds
  var QR_HIDE_S = 10;          // at most; never longer than half the ticket time
  var resultShownAt = 0;       // when the current ticket appeared (ms)
  var FORM_IDLE_S = 120;
  var FORM_WARNING_S = 30;
  var setup = null;
  var lang = null;
  var services = [];
  var chosen = null;          // the service id being checked in for
  var attempt = null;         // {body, key} of the current check-in attempt
  var phoneState = "empty";   // empty | checking | valid | invalid
  var phoneReason = null;     // why an invalid number is refused: invalid | not_mobile | retired
  var phoneCheckTimer = null;
  var phoneCheckSeq = 0;
  var idle = 0;               // seconds since the last touch on the current screen
  var screen = "loading";
  var sendCancelled = false;
  var textsShown = false;     // the texts were put on the screens (a script loaded later asks)

  function $(id) { return document.getElementById(id); }
  function T(key, values) {
    var text = (setup.texts[lang] || {})[key] || (setup.texts[setup.default_language] || {})[key] || key;
    return window.Dom.fill(text, values);
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return "kiosk-" + crypto.randomUUID();
    return "kiosk-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function show(name) {
    screen = name;
    idle = 0;
    ["loading", "start", "details", "sending", "result", "appointment"].forEach(function (id) { $(id).hidden = id !== name; });
    $("languages").hidden = !(name === "start" || name === "details" || name === "appointment");
    var heading = $(name).querySelector("h1");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
    tick();
  }

  // -- texts and languages ----------------------------------------------------------------------

  function applyTexts() {
    document.documentElement.lang = lang;
    document.title = setup.clinic;
    $("clinic").textContent = setup.clinic;
    $("print-clinic").textContent = setup.clinic;
    $("languages").setAttribute("aria-label", T("language"));
    Array.prototype.forEach.call($("languages").children, function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-lang") === lang ? "true" : "false");
    });
    $("start-title").textContent = T("welcome", { clinic: setup.clinic });
    $("start-lead").textContent = T("choose_service");
    $("no-services").textContent = T("closed_service");
    $("details-title").textContent = T("phone_title");
    $("phone-label").textContent = T("phone_label");
    $("phone-hint").textContent = T("phone_hint", { example: setup.phone_example });
    $("phone-clear").textContent = T("clear");
    $("keypad").setAttribute("aria-label", T("keypad"));
    $("keypad-delete").setAttribute("aria-label", T("keypad_delete"));
    $("consent-label").textContent = T("consent_label", { days: setup.retention_days });
    $("back").textContent = T("back");
    $("check-in").textContent = T("check_in");
    $("sending-text").textContent = T("checking_in");
    $("sending-retry").textContent = T("retrying");
    $("sending-cancel").textContent = T("cancel");
    $("sending-again").textContent = T("try_again");
    $("result-label").textContent = T("your_number");
    $("result-wait-label").textContent = T("estimated_wait");
    $("result-scan").textContent = T("scan_to_follow");
    $("result-watch").textContent = T("watch_screen");
    $("print").textContent = T("print");
    $("done").textContent = T("done");
    $("still-title").textContent = T("still_there");
    $("still-yes").textContent = T("continue");
    $("offline").textContent = T("offline");
    $("link-warning").textContent = T("links_loopback", { address: setup.links ? setup.links.base : "" });
    if (chosen) $("chosen").textContent = T("selected_service", { service: serviceName(findService(chosen)) });
    renderPhoneFeedback();
    renderHours();
    renderServices();
    textsShown = true;
    document.dispatchEvent(new CustomEvent("kiosk:texts"));
  }

  function buildLanguages() {
    var nav = $("languages");
    setup.languages.forEach(function (language) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "lang";
      button.lang = language.code;
      button.setAttribute("data-lang", language.code);
      button.textContent = language.name;
      button.addEventListener("click", function () { lang = language.code; applyTexts(); });
      nav.appendChild(button);
    });
  }

  // -- services -----------------------------------------------------------------------------------

  function findService(id) { return services.filter(function (s) { return s.id === id; })[0] || { id: id }; }
  function serviceName(s) { return (s.names && (s.names[lang] || s.names[setup.default_language])) || s.name || s.id; }

  function waitText(low, high, minutes) {
    if (low != null && high != null && Math.round(high) > Math.round(low)) {
      return T("wait_range", { low: Math.round(low), high: Math.round(high) });
    }
    if (minutes == null) return "";
    return Math.round(minutes) <= 0 ? T("wait_none") : T("wait_about", { n: Math.round(minutes) });
  }

  // -- opening hours: outside them, say when check-in opens instead of handing out tickets -------

  var minuteFormat = null;
  function minutesOf(hhmm) {
    var m = /^(\d{1,2}):(\d{2})$/.exec(hhmm || "");
    return m ? Number(m[1]) * 60 + Number(m[2]) : null;
  }
  /** True outside the clinic's opening hours, in its own time zone (not the tablet's). */
  function closedNow() {
    if (!setup.hours || !setup.timezone) return false;
    if (!minuteFormat) {
      minuteFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: setup.timezone });
    }
    var parts = minuteFormat.formatToParts(new Date());
    var part = function (type) { return Number(parts.filter(function (p) { return p.type === type; })[0].value); };
    var now = (part("hour") % 24) * 60 + part("minute");
    var opens = minutesOf(setup.hours.opens), closes = minutesOf(setup.hours.closes);
    return opens !== null && closes !== null && (now < opens || now >= closes);
  }
  var closedShown = null;
  function renderHours() {
    var closed = closedNow();
    $("closed-hours").textContent = T("check_in_opens", { time: setup.hours ? setup.hours.opens : "" });
    $("closed-hours").hidden = !closed;
    $("start-lead").hidden = closed;
    if (closed !== closedShown) { closedShown = closed; renderServices(); }
  }

  function renderServices() {
    var holder = $("services");
    var focused = document.activeElement && document.activeElement.getAttribute("data-service");
    holder.textContent = "";
    services.forEach(function (s) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "service-button";
      button.setAttribute("data-service", s.id);
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = serviceName(s);
      var meta = document.createElement("span");
      meta.className = "meta";
      var wait = waitText(s.estimate_low_minutes, s.estimate_high_minutes, s.estimated_wait_minutes);
      meta.textContent = T("waiting_count", { n: s.waiting }) + (wait ? " · " + wait : "");
      button.appendChild(name);
      button.appendChild(meta);
      button.addEventListener("click", function () { choose(s.id); });
      holder.appendChild(button);
      if (focused === s.id) button.focus();
    });
    $("no-services").hidden = services.length > 0 || !!closedShown;
    holder.hidden = !!closedShown;
  }

  function loadServices() {
    return fetch("/api/v1/services", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (list) { services = list; renderServices(); });
  }

  // -- details: phone and consent ----------------------------------------------------------------

  function choose(serviceId) {
    chosen = serviceId;
    $("chosen").textContent = T("selected_service", { service: serviceName(findService(serviceId)) });
    $("consent-feedback").hidden = true;
    show("details");
  }

  // Why a number is refused, in words the patient can act on (a landline, a 2G prefix).
  var REFUSALS = { not_mobile: "phone_not_mobile", retired: "phone_retired" };

  function renderPhoneFeedback() {
    var feedback = $("phone-feedback");
    var input = $("phone");
    feedback.className = "feedback";
    input.removeAttribute("aria-invalid");
    if (phoneState === "valid") { feedback.textContent = T("phone_ok"); feedback.className = "feedback good"; }
    else if (phoneState === "invalid") {
      feedback.textContent = T(REFUSALS[phoneReason] || "phone_invalid", { example: setup.phone_example });
      feedback.className = "feedback bad";
      input.setAttribute("aria-invalid", "true");
    } else feedback.textContent = "";
    $("consent-row").classList.toggle("dim", phoneState === "empty");
  }

  function looksLikePhone(text) {
    // The light check here; the server (libphonenumber, the clinic's country) has the last word.
    return /^\+?[0-9 ()\-.]{6,24}$/.test(text) && text.replace(/\D/g, "").length >= 7;
  }

  // -- the keypad, and the number formatted as it is typed -----------------------------------------

  /** What the patient typed, "" while only the ready "010" is there. */
  function typedPhone() {
    var text = $("phone").value.trim();
    return text.replace(/\D/g, "") === (setup.phone_prefix || "-") ? "" : text;
  }

  /** 01012345678 -> 010-1234-5678 as it grows (Korea's mobile numbers); others as typed. */
  function formatTyped(text) {
    if (!setup.phone_prefix || !/^[0-9 \-]*$/.test(text)) return text;
    var d = text.replace(/\D/g, "");
    if (!/^01/.test(d)) return d;
    var middle = /^010/.test(d) || d.length > 10 ? 4 : 3;
    return [d.slice(0, 3), d.slice(3, 3 + middle), d.slice(3 + middle)].filter(Boolean).join("-");
  }

  function phoneTyped() {
    var input = $("phone");
    var formatted = formatTyped(input.value);
    if (formatted !== input.value) input.value = formatted;
    clearTimeout(phoneCheckTimer);
    phoneCheckTimer = setTimeout(function () { checkPhone(false); }, 350);
  }

  $("keypad").addEventListener("click", function (event) {
    var key = event.target.getAttribute && event.target.getAttribute("data-key");
    if (!key) return;
    var input = $("phone");
    if (key === "delete") input.value = input.value.replace(/\D?\d$/, "").replace(/-$/, "");
    else if (input.value.replace(/\D/g, "").length < 15) input.value += key;
    phoneTyped();
  });

  function readyPhone() {
    $("phone").value = formatTyped(setup.phone_prefix || "");
    phoneState = "empty";
    phoneReason = null;
  }

  function checkPhone(final) {
    var text = typedPhone();
    clearTimeout(phoneCheckTimer);
    if (!text) { phoneState = "empty"; renderPhoneFeedback(); return Promise.resolve(); }
    if (!/^\+?[0-9 ()\-.]*$/.test(text) || (final && !looksLikePhone(text))) {
      phoneState = "invalid"; renderPhoneFeedback(); return Promise.resolve();
    }
    if (!looksLikePhone(text)) { phoneState = "checking"; renderPhoneFeedback(); return Promise.resolve(); }
    var seq = ++phoneCheckSeq;
    return fetch("/kiosk/phone-check", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "fetch" },
      body: JSON.stringify({ phone: text }),
    }).then(function (r) {
      // A 503 (the database is away) is no verdict on the number: treat it as offline.
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (answer) {
      if (seq !== phoneCheckSeq) return;   // an older answer, the patient typed on
      phoneState = answer.valid ? "valid" : "invalid";
      phoneReason = answer.reason || null;
      renderPhoneFeedback();
    }).catch(function () {
      // Offline: trust the light check; the check-in itself will be checked by the server.
      if (seq === phoneCheckSeq) { phoneState = "valid"; renderPhoneFeedback(); }
    });
  }

  $("phone").addEventListener("input", phoneTyped);
  $("phone").addEventListener("blur", function () { checkPhone(true); });
  $("phone-clear").addEventListener("click", function () {
    readyPhone(); $("consent").checked = false; renderPhoneFeedback(); $("phone").focus();
  });
  $("back").addEventListener("click", function () { chosen = null; show("start"); });

  $("details-form").addEventListener("submit", function (event) {
    event.preventDefault();
    checkPhone(true).then(function () {
      var phone = typedPhone();
      if (phone && phoneState !== "valid") { $("phone").focus(); return; }
      if (phone && !$("consent").checked) {
        $("consent-feedback").textContent = T("consent_needed");
        $("consent-feedback").hidden = false;
        $("consent").focus();
        return;
      }
      $("consent-feedback").hidden = true;
      var body = { service: chosen, language: lang, consent: !!(phone && $("consent").checked) };
      if (phone) body.phone = phone;
      var text = JSON.stringify(body);
      // Same details as the attempt that may have reached the server: same key, same ticket.
      if (!attempt || attempt.body !== text) attempt = { body: text, key: newKey() };
      send(attempt);
    });
  });

  // -- checking in --------------------------------------------------------------------------------

  function send(current) {
    sendCancelled = false;
    $("sending-text").textContent = T("checking_in");
    $("sending-spinner").hidden = false;
    $("sending-retry").hidden = true;
    $("sending-error").hidden = true;
    $("sending-cancel").hidden = true;
    $("sending-again").hidden = true;
    show("sending");
    var delay = 1000;
    function tryOnce() {
      if (sendCancelled || attempt !== current) return Promise.resolve();
      return fetch("/api/v1/tickets", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Requested-With": "fetch",
          "Idempotency-Key": current.key,
          Accept: "application/json",
        },
        body: current.body,
      }).then(function (response) {
        return response.json().then(function (json) { return { status: response.status, body: json }; },
          function () { return { status: response.status, body: null }; });
      }).then(function (result) {
        if (sendCancelled || attempt !== current) return;
        if ((result.status === 200 || result.status === 201) && result.body && result.body.token) {
          attempt = null;
          showResult(result.body);
        } else if (result.status === 503 && result.body && result.body.error && result.body.error.code === "unavailable") {
          // The clinic's database is away: nothing was made.  The patient tries again when
          // they like, with the same key, so a request that did get through makes one ticket.
          $("sending-spinner").hidden = true;
          $("sending-text").textContent = T("unavailable");
          $("sending-retry").hidden = true;
          $("sending-again").hidden = false;
          $("sending-cancel").hidden = false;
          $("sending-again").focus();
        } else if (result.status >= 500 || result.status === 429) {
          return retry();
        } else if (result.status === 401) {
          location.reload();   // unpaired: the server shows how to pair this tablet again
        } else {
          var error = result.body && result.body.error;
          attempt = null;
          if (error && error.code === "already_checked_in") {
            // Not a mistake in the number: reception decides (a family's shared phone).
            $("sending-error").textContent = T("already_checked_in");
            $("sending-error").hidden = false;
            $("sending-cancel").hidden = false;
          } else if (error && error.code === "closed") {
            // The server's hours win (a holiday, a tablet clock that is off): say when to come.
            $("sending-error").textContent = T("check_in_opens", { time: error.opens || "" });
            $("sending-error").hidden = false;
            $("sending-cancel").hidden = false;
          } else if (error && error.field === "phone") {
            phoneState = "invalid";
            show("details");
            renderPhoneFeedback();
            $("phone").focus();
          } else {
            $("sending-error").textContent = T("error");
            $("sending-error").hidden = false;
            $("sending-cancel").hidden = false;
          }
        }
      }, function () {
        if (!sendCancelled && attempt === current) return retry();
      });
    }
    function retry() {
      $("sending-retry").hidden = false;
      $("sending-cancel").hidden = false;
      return sleep(delay).then(function () { delay = Math.min(delay * 2, 5000); return tryOnce(); });
    }
    return tryOnce();
  }

  $("sending-again").addEventListener("click", function () { if (attempt) send(attempt); });

  $("sending-cancel").addEventListener("click", function () {
    // The attempt (and its key) is kept: pressing again with the same details cannot make a
    // second ticket if the first request did reach the server.
    sendCancelled = true;
    show(chosen ? "details" : "start");
  });

  // -- the result ----------------------------------------------------------------------------------

  function showResult(ticket) {
    var s = findService(ticket.service);
    $("result-number").textContent = ticket.number;
    $("result-service").textContent = (ticket.service_names && ticket.service_names[lang]) || serviceName(s);
    $("result-ahead").textContent = ticket.ahead === 0 ? T("you_are_next") : T("ahead", { n: ticket.ahead == null ? "–" : ticket.ahead });
    $("result-wait").textContent = waitText(ticket.estimate_low_minutes, ticket.estimate_high_minutes, ticket.estimated_wait_minutes) || "–";
    // The QR's content is the patient's link; the image itself comes from this kiosk's own
    // origin, which may differ from the links' (and the page's CSP allows only its own).
    $("result-qr").src = new URL(ticket.qr_url, location.href).pathname;
    $("link-warning").hidden = !(setup.links && setup.links.loopback);
    $("result-qr").alt = T("scan_to_follow");
    $("result-qr-figure").hidden = false;
    resultShownAt = Date.now();
    // The printed ticket: the clinic's date and time, whatever zone the tablet is set to.
    var time = new Date(ticket.checked_in_at || Date.now());
    $("result-time").textContent = T("checked_in_at", { time: new Intl.DateTimeFormat(lang, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: setup.timezone,
    }).format(time) });
    show("result");
    // [kiosk] auto_print: the receipt comes out without a tap.  Chromium started with
    // --kiosk-printing sends it to the default printer with no dialog; elsewhere the dialog.
    if (setup.auto_print) window.print();
  }

  $("print").addEventListener("click", function () { window.print(); });
  $("done").addEventListener("click", reset);

  function reset() {
    hideQr();
    chosen = null;
    attempt = null;
    readyPhone();
    $("consent").checked = false;
    lang = setup.default_language;
    if ($("still-there").open) $("still-there").close();
    document.dispatchEvent(new CustomEvent("kiosk:reset"));
    applyTexts();
    show("start");
  }

  // -- idle: one timer for the page's whole life ----------------------------------------------------

  ["pointerdown", "keydown", "input"].forEach(function (kind) {
    document.addEventListener(kind, function () { idle = 0; if (screen === "result") tick(); }, true);
  });
  $("still-yes").addEventListener("click", function () { idle = 0; $("still-there").close(); });

  function tick() {
    if (screen === "start") renderHours();
    if (screen === "result") {
      // The QR goes after a fixed time from the ticket's appearance: a touch does not keep it.
      if ((Date.now() - resultShownAt) / 1000 >= qrHideSeconds()) hideQr();
      var left = Math.max(0, RESULT_IDLE_S - idle);
      $("countdown").textContent = T("returning_in", { s: left });
      if (left === 0) reset();
    } else if (screen === "details" || screen === "appointment") {
      var dialog = $("still-there");
      if (idle >= FORM_IDLE_S) {
        var remaining = Math.max(0, FORM_IDLE_S + FORM_WARNING_S - idle);
        $("still-text").textContent = T("still_there_text", { s: remaining });
        if (!dialog.open) dialog.showModal();
        if (remaining === 0) reset();
      } else if (dialog.open) {
        dialog.close();
      }
    }
  }
  setInterval(function () { idle += 1; tick(); }, 1000);

  function qrHideSeconds() { return Math.min(QR_HIDE_S, RESULT_IDLE_S / 2); }
  function hideQr() {
    if ($("result-qr-figure").hidden) return;
    $("result-qr-figure").hidden = true;
    $("result-qr").removeAttribute("src");
  }

  // -- live service list, and the offline indicator -------------------------------------------------

  function setOnline(online) { $("offline").hidden = online; }

  function connect() {
    if (!window.io) return;
    var socket = window.io({ transports: ["websocket", "polling"] });
    socket.on("connect", function () { setOnline(true); });
    socket.on("disconnect", function () { setOnline(false); });
    socket.on("connect_error", function (err) {
      setOnline(false);
      if (err && err.message === "authentication required") setTimeout(function () { location.reload(); }, 5000);
    });
    window.followQueue(socket, function (view) {
      if (view && view.services) { services = view.services; renderServices(); }
    });
  }

  // -- start: the setup, retried until the server answers --------------------------------------------

  function start() {
    fetch("/kiosk/setup.json", { cache: "no-store" }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error("unpaired"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (json) {
      setup = json;
      if (setup.ticket_seconds > 0) RESULT_IDLE_S = setup.ticket_seconds;
      lang = setup.default_language;
      readyPhone();
      buildLanguages();
      applyTexts();
      return loadServices().catch(function () { setOnline(false); });
    }).then(function () {
      show("start");
      connect();
    }, function () {
      $("loading").textContent = "…";
      setTimeout(start, 3000);
    });
  }
  // What "I have an appointment" (appointment.js) shares of the kiosk: its screens, texts and ticket.
  window.Kiosk = {
    show: show,
    showResult: showResult,
    T: T,
    lang: function () { return lang; },
    hasTexts: function () { return textsShown; },
  };
  start();
})();
