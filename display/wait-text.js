/* What the TV says about a service's wait, in words a waiting room reads at a glance.
 *
 * Kept apart from display.js so the rules can be checked on their own in the browser:
 * - nobody waiting: "No wait" (not "about 0-1 min", which reads as a wait);
 * - an hour or more: hours and minutes ("about 1 h 20 min"), not "about 80 min";
 * - a wait that ends after the clinic's closing time: "may not be seen today", since a
 *   number of minutes would promise something the clinic cannot keep.
 */
(function () {
  "use strict";

  /** Minutes as the TV shows them: "45 min", "2 h", "1 h 20 min". */
  function duration(T, minutes) {
    var m = Math.round(minutes);
    if (m < 60) return T("duration_m", { m: m });
    var h = Math.floor(m / 60);
    var rest = m % 60;
    return rest === 0 ? T("duration_h", { h: h }) : T("duration_hm", { h: h, m: rest });
  }

  /**
   * The wait line for one service of the public view.
   * T(key, values): the display's text in one language.  nowMinutes and closesMinutes: the
   * clinic's local time and closing time in minutes after midnight (either may be null).
   */
  function waitText(T, service, nowMinutes, closesMinutes) {
    if (service.waiting === 0) return T("no_wait");
    var low = service.estimate_low_minutes;
    var high = service.estimate_high_minutes;
    var middle = service.estimated_wait_minutes;
    var latest = high != null ? high : middle;
    if (latest != null && nowMinutes != null && closesMinutes != null && nowMinutes + latest > closesMinutes) {
      return T("not_today");
    }
    if (low != null && high != null && Math.round(high) > Math.round(low)) {
      if (Math.round(high) < 60) return T("wait_range", { low: Math.round(low), high: Math.round(high) });
      return T("wait_range_long", { low: duration(T, low), high: duration(T, high) });
    }
    if (middle == null) return "–";
    if (Math.round(middle) <= 0) return T("wait_none");
    if (Math.round(middle) < 60) return T("wait_about", { n: Math.round(middle) });
    return T("wait_about_long", { time: duration(T, middle) });
  }

  window.DisplayWait = { text: waitText, duration: duration };
})();
