/* Following the queue's version, shared by every page that listens to the queue.
 *
 * Every change has a number, one sequence for the whole clinic whichever server process
 * made it, and every event carries the number it brings the page to.  A page that sees a
 * number skipped missed an event (for example while the servers' message queue was down)
 * and asks for the whole picture again (`resync`); an event older than what the page shows
 * (it can arrive after a resync's answer) is ignored.
 *
 * Public pages (TV, kiosk, phone): `queue` is the whole public view on every change, so it is
 * applied even after a gap, and the gap still asks again (a phone may have missed its own
 * `place`).  Staff (`changes` = "staff_changes"): `queue` is the whole view, sent on connect
 * and on resync only, and each change comes as `staff_changes`; a change after a gap is not
 * applied (it needs the one before it), the whole view that answers the resync is.
 */
(function () {
  "use strict";

  window.followQueue = function (socket, onQueue, changes, onChanges) {
    var last = null;
    var asked = false;

    function resync() {
      if (asked) return;
      asked = true;
      socket.emit("resync");
    }

    socket.on("queue", function (view) {
      var version = view && typeof view.version === "number" ? view.version : null;
      if (version !== null && last !== null) {
        if (version < last) return;
        if (version > last + 1 && !changes) resync();
      }
      asked = false;
      if (version !== null) last = version;
      onQueue(view);
    });

    if (changes) {
      socket.on(changes, function (change) {
        var version = change && typeof change.version === "number" ? change.version : null;
        if (version !== null && last !== null) {
          if (version <= last) return;
          if (version > last + 1) { resync(); return; }
        }
        if (version !== null) last = version;
        onChanges(change);
      });
    }
  };
})();
