/* The kiosk's "I have an appointment": a phone number, then today's appointments for it (service
 * and time, never a name), and a tap that arrives into the queue with a ticket, shown on the
 * kiosk's own ticket screen.  The number is sent again with the tap: an appointment's id alone
 * lets nobody arrive for somebody else.  Texts come from the kiosk's setup (window.Kiosk.T).
 */
(function () {
  "use strict";

  var kiosk = window.Kiosk;
  if (!kiosk) return;
  function $(id) { return document.getElementById(id); }
  var T = kiosk.T;
  var busy = false;

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "fetch", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (json) { return { status: response.status, body: json }; },
        function () { return { status: response.status, body: null }; });
    });
  }

  function say(text, bad) {
    $("appointment-feedback").textContent = text;
    $("appointment-feedback").className = bad ? "feedback bad" : "feedback";
  }

  function applyTexts() {
    $("appointment-start").textContent = T("have_appointment");
    $("appointment-title").textContent = T("appointment_title");
    $("appointment-phone-label").textContent = T("appointment_phone_label");
    $("appointment-find").textContent = T("find_appointment");
    $("appointment-back").textContent = T("back");
  }

  function clear() {
    $("appointment-phone").value = "";
    $("appointment-list").textContent = "";
    say("", false);
  }

  function listAppointments(found) {
    var list = $("appointment-list");
    list.textContent = "";
    if (!found.length) { say(T("no_appointment_today"), true); return; }
    say(T("tap_to_arrive"), false);
    found.forEach(function (appointment) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "service-button appointment-choice";
      button.setAttribute("data-appointment", String(appointment.id));
      var time = document.createElement("span");
      time.className = "name";
      time.textContent = appointment.local_time;
      var service = document.createElement("span");
      service.className = "meta";
      service.textContent = appointment.service_name;
      button.appendChild(time);
      button.appendChild(service);
      button.addEventListener("click", function () { arrive(appointment); });
      list.appendChild(button);
    });
  }

  function find(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    $("appointment-list").textContent = "";
    say(T("checking_in"), false);
    post("/api/v1/kiosk/appointments", { phone: $("appointment-phone").value, language: kiosk.lang() }).then(function (answer) {
      if (answer.status === 200) listAppointments(answer.body.appointments);
      else if (answer.status === 400) say(T("phone_invalid"), true);
      else say(T("retrying"), true);
    }, function () { say(T("retrying"), true); }).then(function () { busy = false; });
  }

  function arrive(appointment) {
    if (busy) return;
    busy = true;
    say(T("checking_in"), false);
    post("/api/v1/kiosk/appointments/" + appointment.id + "/arrive", { phone: $("appointment-phone").value }).then(function (answer) {
      if (answer.status === 201) { kiosk.showResult(answer.body); clear(); }
      else if (answer.status === 409) say(T("check_in_opens", { time: appointment.arrival_opens }), true);
      else say(T("closed_service"), true);
    }, function () { say(T("retrying"), true); }).then(function () { busy = false; });
  }

  $("appointment-start").addEventListener("click", function () { clear(); kiosk.show("appointment"); });
  $("appointment-back").addEventListener("click", function () { clear(); kiosk.show("start"); });
  $("appointment-form").addEventListener("submit", find);
  document.addEventListener("kiosk:texts", applyTexts);
  // The kiosk may have shown its texts before this script arrived (its setup came back first):
  // without this the "I have an appointment" button stays empty until the language changes.
  if (kiosk.hasTexts()) applyTexts();
  document.addEventListener("kiosk:reset", clear);
})();
