/* One way for the conversation screens (inbox.js, quick-replies.js, conversation.js) to call
 * the REST API: JSON in and out, X-Requested-With so a cross-site form cannot act for the page,
 * nothing cached, and every answer (errors too) as {status, ok, body}, so each screen says
 * what went wrong in its own words.
 */
(function () {
  "use strict";

  window.Api = function (method, path, body) {
    return fetch("/api/v1" + path, {
      method: method,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, ok: response.ok, body: json };
      });
    });
  };
})();
