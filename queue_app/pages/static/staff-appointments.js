/* Today's appointments on the staff console: time, service, status, the clinic's reference.
 *
 * Read from GET /api/v1/appointments (today in the clinic's zone) when the page opens, whenever
 * the staff socket hears `appointments` (a booking, confirmation, cancellation, arrival or
 * no-show, anywhere), when it reconnects, and every minute besides.  Texts come from the page
 * (JSON island), set with textContent only.
 */
(function () {
  "use strict";

  var body = document.getElementById("appointments");
  if (!body) return;
  var statuses = JSON.parse(document.getElementById("appointment-statuses").textContent);
  var setup = JSON.parse(document.getElementById("setup").textContent || "{}");
  var el = window.Dom.el;
  var REFRESH_MS = 60000;

  function serviceName(id) {
    var services = setup.services || [];
    for (var i = 0; i < services.length; i++) if (services[i].id === id) return services[i].name || id;
    return id;
  }

  function render(list) {
    body.textContent = "";
    list.forEach(function (a) {
      body.appendChild(el("tr", { className: "appointment-" + a.status, "data-appointment": String(a.id) }, [
        el("td", { text: a.local_time }),
        el("td", { text: serviceName(a.service) }),
        el("td", { className: "status", text: statuses[a.status] || a.status }),
        el("td", { text: a.reference || "–" }),
      ]));
    });
    document.getElementById("appointment-count").textContent = list.length ? "(" + list.length + ")" : "";
    document.getElementById("no-appointments").hidden = list.length > 0;
  }

  function load() {
    fetch("/api/v1/appointments", { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (answer) { render(answer.appointments); })
      .catch(function () { /* the next look tries again */ });
  }

  load();
  // Booked, confirmed, cancelled, arrived or missed anywhere: the console's socket says so at
  // once.  The slow refresh covers what no server process saw (an import from the command line).
  if (window.staffSocket) {
    window.staffSocket.on("appointments", load);
    window.staffSocket.on("connect", load);
  }
  setInterval(load, REFRESH_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) load(); });
})();
