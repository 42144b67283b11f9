/* The patient page's service worker, served as /t/sw.js and registered with the ticket's
 * own scope (/t/<token>).
 *
 * It does one thing: a push from the clinic becomes a notification, and tapping it brings
 * the ticket page to the front (or opens it).  It caches nothing: the page shows live state,
 * and an old copy of it would be worse than none.
 *
 * The push payload (queue_app/notify/channels/webpush.py):
 *   {"title", "body", "kind", "id", "url", "lang"}
 */
"use strict";

var URGENT = ["called", "recalled"];

self.addEventListener("install", function () {
  // A new version takes over at once; there is no cached state to migrate.
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// Only this site's pages are opened: a payload cannot send the patient elsewhere.
function pageUrl(url) {
  try {
    var target = new URL(url, self.registration.scope);
    if (target.origin === self.location.origin) return target.href;
  } catch (e) { /* not a URL */ }
  return self.registration.scope;
}

self.addEventListener("push", function (event) {
  var message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (e) {
    message = { body: event.data ? event.data.text() : "" };
  }
  var urgent = URGENT.indexOf(message.kind) >= 0;
  var options = {
    body: message.body || "",
    tag: message.id || undefined,
    lang: message.lang || "",
    data: { url: pageUrl(message.url) },
    // Being called stays on the screen until the patient sees it, and buzzes like the page.
    requireInteraction: urgent,
    vibrate: urgent ? [400, 200, 400, 200, 600] : [200],
    icon: new URL("/static/pages/icon-192.png", self.registration.scope).href,
  };
  event.waitUntil(self.registration.showNotification(message.title || message.body || "", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || self.registration.scope;
  var path = new URL(url).pathname;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (new URL(windows[i].url).pathname === path && "focus" in windows[i]) return windows[i].focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
