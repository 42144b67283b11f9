/* Admins add, edit and delete the inbox's quick replies (a text per clinic language).
 *
 * Only on an admin's console (the server leaves the editor out for staff, and the API would
 * refuse them anyway).  Every change answers with the whole list, handed to the inbox
 * (inbox.js) so its quick-reply buttons show it at once.  Quick replies from the configuration
 * file can be overridden here but not deleted: the file is where they live.
 */
(function () {
  "use strict";

  var holder = document.getElementById("quick-reply-editor");
  if (!holder || !window.Inbox) return;
  var setup = window.Inbox.setup;
  var T = setup.texts;
  var fill = window.Dom.fill;
  var el = window.Dom.el;
  var parts = { texts: {} };

  function api(method, id, body) {
    return window.Api(method, "/inbox/templates/" + encodeURIComponent(id), body);
  }

  function say(text, bad) {
    parts.status.textContent = text;
    parts.status.className = bad ? "field-error" : "muted";
  }

  function edit(template) {
    parts.id.value = template ? template.id : "";
    setup.languages.forEach(function (l) { parts.texts[l.code].value = template ? template.texts[l.code] || "" : ""; });
    parts.id.focus();
  }

  function remove(template) {
    api("DELETE", template.id).then(function (result) {
      if (!result.ok) { say(fill(T.action_failed, { message: result.body.error ? result.body.error.message : result.status }), true); return; }
      window.Inbox.setTemplates(result.body.templates);
      say(fill(T.template_deleted, { id: template.id }));
    });
  }

  function render(templates) {
    parts.list.textContent = "";
    templates.forEach(function (template) {
      var first = template.texts[setup.language] || template.texts[Object.keys(template.texts)[0]] || "";
      var editButton = el("button", { type: "button", className: "button", text: T.template_edit,
                                      "aria-label": T.template_edit + " " + template.id });
      editButton.addEventListener("click", function () { edit(template); });
      var deleteButton = null;
      if (template.source === "admin") {
        deleteButton = el("button", { type: "button", className: "button danger-outline", text: T.template_delete,
                                      "aria-label": T.template_delete + " " + template.id });
        deleteButton.addEventListener("click", function () { remove(template); });
      }
      parts.list.appendChild(el("li", { "data-template": template.id }, [
        el("strong", { text: template.id }),
        el("span", { className: "template-text", text: first }),
        template.source === "config" ? el("span", { className: "muted", text: T.template_from_file }) : null,
        editButton, deleteButton,
      ]));
    });
  }

  function save(event) {
    event.preventDefault();
    var texts = {};
    setup.languages.forEach(function (l) {
      var text = parts.texts[l.code].value.trim();
      if (text) texts[l.code] = text;
    });
    var id = parts.id.value.trim();
    api("PUT", id, { texts: texts }).then(function (result) {
      if (!result.ok) {
        var error = result.body.error || {};
        say(fill(T.action_failed, { message: error.message || result.status }), true);
        var field = error.field === "id" ? parts.id : parts.texts[String(error.field || "").replace("texts.", "")];
        if (field) field.focus();
        return;
      }
      window.Inbox.setTemplates(result.body.templates);
      say(fill(T.template_saved, { id: id }));
      edit(null);
    });
  }

  parts.list = el("ul", { id: "template-list", className: "template-list" });
  parts.id = el("input", { id: "template-id", pattern: "[a-z0-9_-]{1,40}", maxlength: "40", autocomplete: "off" });
  var fields = [el("label", { "for": "template-id", text: T.template_id }), parts.id];
  setup.languages.forEach(function (l) {
    var id = "template-text-" + l.code;
    parts.texts[l.code] = el("textarea", { id: id, rows: "2", maxlength: "1000", lang: l.code });
    fields.push(el("label", { "for": id, text: fill(T.template_text, { language: l.name }) }), parts.texts[l.code]);
  });
  parts.status = el("p", { id: "template-status", role: "status" });
  var form = el("form", { id: "template-form", className: "reply-form", novalidate: "" },
    fields.concat([el("button", { type: "submit", className: "button primary", id: "template-save", text: T.template_save }), parts.status]));
  form.addEventListener("submit", save);
  holder.appendChild(parts.list);
  holder.appendChild(form);
  window.Inbox.onTemplates(render);
})();
