// Shared by the pages: duration text identical to the server's (server/web/format.py).
"use strict";
window.Guichet = {
  duration: function (seconds) {
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) { return "< 1 min"; }
    var m = Math.floor(s / 60);
    if (m < 60) { return m + " min"; }
    var h = Math.floor(m / 60);
    var r = m % 60;
    return h + " h " + (r < 10 ? "0" : "") + r;
  },
  // Refreshes every element carrying data-since (epoch seconds) with the time elapsed.
  tick: function (root, offset) {
    var now = Date.now() / 1000 + (offset || 0);
    var nodes = (root || document).querySelectorAll("[data-since]");
    for (var i = 0; i < nodes.length; i++) {
      var since = parseFloat(nodes[i].getAttribute("data-since"));
      if (!isNaN(since)) { nodes[i].textContent = window.Guichet.duration(now - since); }
    }
  },
  // Marks the live indicator on or off.
  live: function (el, on) {
    if (!el) { return; }
    el.classList.toggle("on", on);
    el.classList.toggle("off", !on);
    el.textContent = el.getAttribute(on ? "data-on" : "data-off");
  }
};
