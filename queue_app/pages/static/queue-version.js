/* Following the queue's version, shared by every page that listens to `queue`.
 *
 * Every `queue` event carries the number of the change it brings the page to (one sequence
 * for the whole clinic, whichever server process made the change).  A page that sees a
 * number skipped missed an event (for example while the servers' message queue was down)
 * and asks for the whole picture again (`resync`); an event older than what the page shows
 * (it can arrive after a resync's answer) is ignored.
 */
(function () {
  "use strict";

  window.followQueue = function (socket, onQueue) {
    var last = null;
    socket.on("queue", function (view) {
      var version = view && typeof view.version === "number" ? view.version : null;
      if (version !== null && last !== null) {
        if (version < last) return;
        if (version > last + 1) socket.emit("resync");
      }
      if (version !== null) last = version;
      onQueue(view);
    });
  };
})();
