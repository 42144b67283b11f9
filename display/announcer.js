/* Calls, announced one after another: a chime (made with WebAudio, no sound file), then the
 * call spoken in each of the clinic's languages (the browser's speech synthesis).
 *
 * Calls that arrive together wait their turn: nothing ever talks over anything else.  A
 * language with no voice on this TV is skipped; with no speech at all the chime and the
 * screen's flash remain.  The queue is capped so a burst cannot build up minutes of talk.
 */
(function () {
  "use strict";

  var MAX_PENDING = 6;
  var UTTERANCE_TIMEOUT_MS = 12000;   // some browsers never fire "end": do not wait forever

  function Announcer(options) {
    this.languages = options.languages;          // [{code, speech}]
    this.phrase = options.phrase;                // function (call, languageCode) -> text
    this.pending = [];
    this.busy = false;
    this.audio = null;
    this.muted = false;
  }

  Announcer.prototype.audioContext = function () {
    if (!this.audio) {
      try { this.audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { this.audio = null; }
    }
    return this.audio;
  };

  /** True when the browser still waits for a touch before it lets the page make sound. */
  Announcer.prototype.soundBlocked = function () {
    var audio = this.audioContext();
    return !!audio && audio.state === "suspended";
  };

  Announcer.prototype.unlock = function () {
    var audio = this.audioContext();
    if (audio && audio.state === "suspended") audio.resume();
  };

  Announcer.prototype.announce = function (call) {
    if (this.muted) return;   // the clinic chose "no sound" for this screen
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push(call);
    if (!this.busy) this.next();
  };

  Announcer.prototype.next = function () {
    var self = this;
    var call = this.pending.shift();
    if (!call) { this.busy = false; return; }
    this.busy = true;
    this.chime().then(function () {
      return self.languages.reduce(function (done, language) {
        return done.then(function () { return self.say(self.phrase(call, language.code), language.speech); });
      }, Promise.resolve());
    }).then(function () { self.next(); }, function () { self.next(); });
  };

  Announcer.prototype.chime = function () {
    var audio = this.audioContext();
    if (!audio || audio.state !== "running") return Promise.resolve();
    var now = audio.currentTime;
    // A two-note "ding-dong" with soft edges.
    [[659.25, 0], [523.25, 0.55]].forEach(function (note) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, now + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.6, now + note[1] + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + note[1] + 1.1);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + note[1]);
      osc.stop(now + note[1] + 1.15);
    });
    return new Promise(function (resolve) { setTimeout(resolve, 1700); });
  };

  Announcer.prototype.voiceFor = function (speechLang) {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    var base = speechLang.split("-")[0];
    return voices.filter(function (v) { return v.lang === speechLang; })[0] ||
      voices.filter(function (v) { return (v.lang || "").split(/[-_]/)[0] === base; })[0] || null;
  };

  Announcer.prototype.say = function (text, speechLang) {
    var synth = window.speechSynthesis;
    if (!synth || !window.SpeechSynthesisUtterance) return Promise.resolve();
    var voice = this.voiceFor(speechLang);
    // No voice for this language: say nothing rather than mispronounce it in another voice.
    if (!voice && (synth.getVoices() || []).length) return Promise.resolve();
    return new Promise(function (resolve) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = speechLang;
      if (voice) utterance.voice = voice;
      utterance.rate = 0.9;
      var timer = setTimeout(finish, UTTERANCE_TIMEOUT_MS);
      function finish() { clearTimeout(timer); utterance.onend = utterance.onerror = null; resolve(); }
      utterance.onend = finish;
      utterance.onerror = finish;
      synth.speak(utterance);
    });
  };

  window.Announcer = Announcer;
})();
