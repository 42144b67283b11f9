/* The two helpers every signed-in and patient page builds its text with, served once.
 *
 * `fill("{n} ahead", {n: 3})` puts values into a translated text (an unknown name stays as it
 * is, so a missing value shows rather than vanishing); `el(tag, attrs, children)` makes an
 * element with its text set through textContent only, never as HTML, so a name or a message
 * body can never become markup.
 */
(function () {
  "use strict";

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] === undefined ? all : String(values[name]);
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

  window.Dom = { fill: fill, el: el };
})();
