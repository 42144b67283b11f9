/* The contact widget for the clinic's own website: one <script src="https://clinic/widget.js"> tag.
 *
 * This file is the body of a function of `setup` (clinic name, languages, texts in each) and
 * `window`, an object of its own: the server wraps it, with dom.js (our one `el`) before it
 * (pages/conversations.py), so that nothing is left in the host page's globals.
 * It runs on a page of another origin: it adds one element at the end of the page, draws in
 * its own shadow root (the host page's styles and ours never meet; ours come from /widget.css
 * of the clinic's server), and posts to POST /api/v1/contact on the server it came from,
 * without cookies (the server allows the origins in [inbox] widget_origins).
 *
 * Everything shown is set with textContent: the patient's words stay words on the host page.
 * Language: the tag's data-lang, else the host page's <html lang>, else the browser's.
 */

var script = document.currentScript;
var base = new URL(script.src).origin;
var languages = setup.languages;

function pickLanguage() {
  var wanted = [script.getAttribute("data-lang"), document.documentElement.lang].concat(navigator.languages || []);
  for (var i = 0; i < wanted.length; i++) {
    var code = String(wanted[i] || "").toLowerCase().split("-")[0];
    if (languages.indexOf(code) >= 0) return code;
  }
  return setup.default_language;
}

var language = pickLanguage();
var T = setup.texts[language];
var seq = 0;

var el = window.Dom.el;   // dom.js, given to this function with a window of its own

function field(id, label, control) {
  control.id = id;
  return el("div", { className: "field" }, [el("label", { "for": id, text: label }), control]);
}

function build() {
  var host = el("div", { id: "clinic-contact-widget", lang: language });
  var root = host.attachShadow({ mode: "open" });
  var p = {};
  p.open = el("button", { type: "button", className: "open", "aria-expanded": "false", "aria-controls": "panel", text: T.open });
  p.close = el("button", { type: "button", className: "close", "aria-label": T.close, text: "×" });
  p.question = el("input", { type: "radio", name: "kind", value: "question", id: "kind-question" });
  p.callback = el("input", { type: "radio", name: "kind", value: "callback", id: "kind-callback" });
  p.question.checked = true;
  p.phone = el("input", { type: "tel", name: "phone", autocomplete: "tel", inputmode: "tel", required: "" });
  p.message = el("textarea", { name: "message", rows: "4", maxlength: "1000" });
  p.time = el("input", { type: "text", name: "preferred_time", maxlength: "80" });
  p.timeField = field("preferred-time", T.preferred_time, p.time);
  p.timeField.hidden = true;
  p.error = el("p", { className: "error", role: "alert" });
  p.send = el("button", { type: "submit", className: "send", text: T.send });
  p.form = el("form", { novalidate: "" }, [
    el("fieldset", {}, [
      el("legend", { text: T.kind_legend }),
      el("label", {}, [p.question, document.createTextNode(" " + T.kind_question)]),
      el("label", {}, [p.callback, document.createTextNode(" " + T.kind_callback)]),
    ]),
    field("phone", T.phone, p.phone),
    field("message", T.message, p.message),
    p.timeField,
    p.error,
    p.send,
  ]);
  p.thanks = el("div", { className: "thanks", role: "status", hidden: "" });
  p.title = el("h2", { id: "title", text: T.title.replace("{clinic}", setup.clinic) });
  p.panel = el("div", { id: "panel", className: "panel", role: "dialog", "aria-labelledby": "title", hidden: "" }, [
    el("div", { className: "head" }, [p.title, p.close]),
    p.form,
    p.thanks,
  ]);
  root.appendChild(el("link", { rel: "stylesheet", href: base + "/widget.css" }));
  root.appendChild(p.open);
  root.appendChild(p.panel);
  return { host: host, parts: p };
}

function showPanel(p, open) {
  p.panel.hidden = !open;
  p.open.setAttribute("aria-expanded", String(open));
  if (open) p.phone.focus(); else p.open.focus();
}

function showError(p, text, input) {
  p.error.textContent = text || "";
  [p.phone, p.message].forEach(function (node) {
    if (node === input) node.setAttribute("aria-invalid", "true"); else node.removeAttribute("aria-invalid");
  });
  if (input) input.focus();
}

function thank(p, callback, message) {
  p.form.hidden = true;
  p.thanks.textContent = "";
  p.thanks.appendChild(el("p", { text: callback ? T.thanks_callback : T.thanks }));
  if (message) {
    p.thanks.appendChild(el("p", { className: "muted", text: T.you_wrote }));
    p.thanks.appendChild(el("p", { className: "echo", text: message }));
  }
  p.thanks.hidden = false;
}

function submit(p, event) {
  event.preventDefault();
  var callback = p.callback.checked;
  var message = p.message.value.trim();
  if (!p.phone.value.trim()) { showError(p, T.bad_phone, p.phone); return; }
  if (!callback && !message) { showError(p, T.bad_message, p.message); return; }
  var body = { phone: p.phone.value, message: message, callback: callback, language: language };
  if (callback && p.time.value.trim()) body.preferred_time = p.time.value.trim();
  p.send.disabled = true;
  p.send.textContent = T.sending;
  showError(p, "");
  var mine = ++seq;
  fetch(base + "/api/v1/contact", {
    method: "POST",
    mode: "cors",
    credentials: "omit",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  })
    .then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (mine !== seq) return;
        if (response.status === 201) { thank(p, callback, message); return; }
        var field = answer.error && answer.error.field;
        if (response.status === 429) showError(p, T.too_many);
        else if (field === "phone") showError(p, T.bad_phone, p.phone);
        else if (field === "message") showError(p, T.bad_message, p.message);
        else showError(p, T.failed);
      });
    }, function () { showError(p, T.failed); })
    .then(function () { p.send.disabled = false; p.send.textContent = T.send; });
}

function start() {
  var widget = build();
  var p = widget.parts;
  p.open.addEventListener("click", function () { showPanel(p, p.panel.hidden); });
  p.close.addEventListener("click", function () { showPanel(p, false); });
  p.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") showPanel(p, false); });
  [p.question, p.callback].forEach(function (radio) {
    radio.addEventListener("change", function () { p.timeField.hidden = !p.callback.checked; });
  });
  p.form.addEventListener("submit", function (event) { submit(p, event); });
  document.body.appendChild(widget.host);
}

if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
