/*
 * The clinic's contact widget, for a page of the clinic's own website (another origin):
 *
 *   <script src="https://queue.clinic.example/widget.js" data-lang="ko" defer></script>
 *
 * It adds a "Message the clinic" button; the form sends a question, or asks for a call back,
 * to POST /api/v1/contact on the server the script came from.  Texts and languages come from
 * /widget/setup.json.  Everything is built with createElement and textContent (no HTML from
 * strings), styled through the CSSOM (element.style), so a host page's strict CSP is fine.
 * The server answers only pages of [inbox] widget_origins (CORS).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src).origin;

  function el(tag, style, props) {
    var node = document.createElement(tag);
    Object.assign(node.style, style || {});
    Object.keys(props || {}).forEach(function (key) { node[key] = props[key]; });
    return node;
  }

  function chooseLanguage(setup) {
    var codes = setup.languages.map(function (l) { return l.code; });
    var asked = [script.getAttribute("data-lang"), document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < asked.length; i++) {
      var code = (asked[i] || "").slice(0, 2).toLowerCase();
      if (codes.indexOf(code) >= 0) return code;
    }
    return setup.default_language;
  }

  function openingText(iso, language, timezone) {
    try {
      return new Intl.DateTimeFormat(language, {
        timeZone: timezone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  var FIELD = { display: "block", width: "100%", boxSizing: "border-box", fontSize: "18px", padding: "10px",
    margin: "4px 0 12px", border: "1px solid #555", borderRadius: "6px", color: "#111", background: "#fff" };
  var LABEL = { display: "block", fontSize: "18px", fontWeight: "600", color: "#111" };

  function build(setup) {
    var language = chooseLanguage(setup);
    var T = setup.texts[language] || setup.texts[setup.default_language];
    var root = el("div", { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
      fontFamily: "system-ui, sans-serif", wordBreak: language === "ko" ? "keep-all" : "normal" });
    root.lang = language;
    root.setAttribute("data-clinic-widget", "");
    var opener = el("button", { fontSize: "18px", padding: "14px 20px", borderRadius: "28px", border: "0",
      background: "#0b5394", color: "#fff", cursor: "pointer" }, { type: "button", textContent: T.open });
    opener.setAttribute("aria-expanded", "false");
    var panel = el("form", { width: "min(360px, calc(100vw - 32px))", background: "#fff", color: "#111",
      padding: "16px", borderRadius: "12px", boxShadow: "0 4px 24px rgba(0,0,0,.3)", marginBottom: "12px" },
      { hidden: true, noValidate: true });
    panel.setAttribute("aria-label", T.open + " — " + setup.clinic);
    var heading = el("h2", { fontSize: "20px", margin: "0 0 12px" }, { textContent: setup.clinic });
    var close = el("button", { float: "right", fontSize: "16px", background: "none", border: "1px solid #555",
      borderRadius: "6px", padding: "4px 10px", cursor: "pointer", color: "#111" }, { type: "button", textContent: T.close });

    function field(name, control, text) {
      control.id = "clinic-widget-" + name;
      control.name = name;
      var label = el("label", LABEL, { textContent: text, htmlFor: control.id });
      return [label, control];
    }
    var phone = el("input", FIELD, { type: "tel", autocomplete: "tel", required: true });
    var message = el("textarea", Object.assign({}, FIELD, { minHeight: "96px" }), { maxLength: 1000 });
    var callback = el("input", { width: "22px", height: "22px", marginRight: "8px", verticalAlign: "middle" },
      { type: "checkbox" });
    var callbackLabel = el("label", Object.assign({}, LABEL, { margin: "0 0 12px" }));
    callbackLabel.appendChild(callback);
    callbackLabel.appendChild(document.createTextNode(T.callback));
    var preferred = el("input", FIELD, { type: "text", maxLength: 80 });
    var preferredParts = field("preferred_time", preferred, T.preferred_time);
    var send = el("button", { fontSize: "18px", padding: "12px 20px", borderRadius: "8px", border: "0",
      background: "#0b5394", color: "#fff", cursor: "pointer", width: "100%" }, { type: "submit", textContent: T.send });
    var status = el("p", { fontSize: "18px", margin: "12px 0 0", color: "#111" });
    status.setAttribute("role", "status");
    status.id = "clinic-widget-status";

    [close, heading].concat(field("phone", phone, T.phone), field("message", message, T.message),
      [callbackLabel], preferredParts, [send, status]).forEach(function (node) { panel.appendChild(node); });
    preferredParts.forEach(function (node) { node.hidden = true; });
    root.appendChild(panel);
    root.appendChild(opener);
    document.body.appendChild(root);

    function toggle(open) {
      panel.hidden = !open;
      opener.setAttribute("aria-expanded", String(open));
      if (open) phone.focus(); else opener.focus();
    }
    opener.addEventListener("click", function () { toggle(panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    callback.addEventListener("change", function () {
      preferredParts.forEach(function (node) { node.hidden = !callback.checked; });
    });

    panel.addEventListener("submit", function (event) {
      event.preventDefault();
      send.disabled = true;
      status.textContent = T.sending;
      var body = { phone: phone.value, message: message.value, callback: callback.checked, language: language };
      if (callback.checked && preferred.value.trim()) body.preferred_time = preferred.value.trim();
      fetch(base + "/api/v1/contact", {
        method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (json) { return { status: response.status, body: json }; },
          function () { return { status: response.status, body: null }; });
      }).then(function (result) {
        send.disabled = false;
        var error = result.body && result.body.error;
        if (result.status === 201) {
          status.textContent = result.body.clinic_open ? T.sent
            : T.sent_closed.replace("{time}", openingText(result.body.opens_at, language, setup.timezone));
          message.value = "";
          preferred.value = "";
        } else if (result.status === 429) {
          status.textContent = T.error_busy;
        } else if (error && error.field === "phone") {
          status.textContent = T.error_phone;
          phone.focus();
        } else if (error && error.field === "message") {
          status.textContent = T.error_message;
          message.focus();
        } else {
          status.textContent = T.error;
        }
      }, function () {
        send.disabled = false;
        status.textContent = T.error;
      });
    });
  }

  fetch(base + "/widget/setup.json", { credentials: "omit" })
    .then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); return response.json(); })
    .then(function (setup) {
      if (document.body) build(setup);
      else document.addEventListener("DOMContentLoaded", function () { build(setup); });
    })
    .catch(function () { /* the clinic's server is away: the page stays as it is */ });
})();
