/* Short tones for the pages that ring: the phone page when its patient is called, the staff
 * console when a patient writes.  Served once, used by both.
 *
 * Browsers let a page make sound only after the user touched it: the first touch (or key)
 * anywhere on the page unlocks it, and `unlock()` may be called from any tap as well.
 * Until then `play()` is silent and answers false.
 */
(function () {
  "use strict";

  var audio = null;

  function unlock() {
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }

  // tones: [{at, frequency, length, volume}], seconds from now; each fades in and out.
  function play(tones) {
    if (!audio || audio.state !== "running") return false;
    var now = audio.currentTime;
    tones.forEach(function (tone) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = tone.frequency;
      gain.gain.setValueAtTime(0.0001, now + tone.at);
      gain.gain.exponentialRampToValueAtTime(tone.volume, now + tone.at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + tone.at + tone.length);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + tone.at);
      osc.stop(now + tone.at + tone.length + 0.02);
    });
    return true;
  }

  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
  window.Sound = { unlock: unlock, play: play };
})();
