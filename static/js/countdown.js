// Comfort only: the server already printed the remaining time; this keeps it ticking.
// Any element with data-expires-at="<ISO 8601 time>" shows "12:34 left", then "expired".
(function () {
  "use strict";

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function remaining(ms) {
    var total = Math.floor(ms / 1000);
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    if (h >= 24) { return Math.floor(h / 24) + " d " + (h % 24) + " h left"; }
    return (h > 0 ? h + ":" + two(m) : m) + ":" + two(s) + " left";
  }

  function tick(elements) {
    var now = Date.now();
    elements.forEach(function (el) {
      var end = Date.parse(el.getAttribute("data-expires-at"));
      if (isNaN(end)) { return; }
      var left = end - now;
      if (left <= 0) {
        el.textContent = "expired";
        el.classList.add("countdown-expired");
        el.removeAttribute("data-expires-at");
      } else {
        el.textContent = remaining(left);
        el.classList.toggle("countdown-soon", left <= 10 * 60 * 1000);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var elements = Array.prototype.slice.call(document.querySelectorAll("[data-expires-at]"));
    if (!elements.length) { return; }
    tick(elements);
    window.setInterval(function () { tick(elements); }, 1000);
  });
})();
