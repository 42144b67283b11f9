/* The two helpers every page builds its text with, served once (kiosk and TV included).
 *
 * `fill("{n} ahead", {n: 3})` puts values into a translated text (an unknown name stays as it
 * is, so a missing value shows rather than vanishing); `{room|로}` adds the Korean particle
 * that fits the value's last syllable (the rule of queue_app/particles.py, told there);
 * `el(tag, attrs, children)` makes an
 * element with its text set through textContent only, never as HTML, so a name or a message
 * body can never become markup.
 */
(function () {
  "use strict";

  var PAIRS = { "로": ["로", "으로"], "으로": ["로", "으로"], "가": ["가", "이"], "이": ["가", "이"],
    "를": ["를", "을"], "을": ["를", "을"], "는": ["는", "은"], "은": ["는", "은"], "와": ["와", "과"], "과": ["와", "과"] };
  // How a final sound ends: 0 none, 8 ㄹ, else another consonant (Hangul's jongseong index).
  var DIGIT_FINALS = { 0: 21, 1: 8, 2: 0, 3: 16, 4: 0, 5: 0, 6: 1, 7: 8, 8: 8, 9: 0 };
  var LETTER_FINALS = { l: 8, m: 16, n: 4, r: 8 };

  function finalOf(word) {
    for (var i = word.length - 1; i >= 0; i--) {
      var c = word.charCodeAt(i), ch = word.charAt(i);
      if (c >= 0xAC00 && c <= 0xD7A3) return (c - 0xAC00) % 28;
      if (ch >= "0" && ch <= "9") return DIGIT_FINALS[ch];
      if (/[A-Za-z]/.test(ch)) return LETTER_FINALS[ch.toLowerCase()] || 0;
    }
    return 0;
  }

  function particle(word, written) {
    var pair = PAIRS[written];
    if (!pair) return written;
    var final = finalOf(word);
    return !final || (pair[0] === "로" && final === 8) ? pair[0] : pair[1];
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)(?:\|([^{}|]+))?\}/g, function (all, name, written) {
      if (!values || values[name] === undefined) return all;
      var value = String(values[name]);
      return written ? value + particle(value, written) : value;
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  window.Dom = { fill: fill, el: el, particle: particle };
})();
