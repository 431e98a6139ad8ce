// Shared by the pages: duration text identical to the server's (server/web/format.py), in
// the page's language: the patterns come from the catalogs, through the page's
// <meta name="guichet-durations"> (base.html).
"use strict";
window.Guichet = {
  words: (function () {
    var fallback = { under: "< 1 min", minutes: "{m} min", hours: "{h} h {mm}" };
    try {
      var meta = document.querySelector("meta[name=guichet-durations]");
      return meta ? JSON.parse(meta.getAttribute("content")) : fallback;
    } catch (err) { return fallback; }
  })(),
  duration: function (seconds) {
    var words = window.Guichet.words;
    var s = Math.max(0, Math.floor(seconds));
    if (s < 60) { return words.under; }
    var m = Math.floor(s / 60);
    if (m < 60) { return words.minutes.replace("{m}", String(m)); }
    var r = m % 60;
    return words.hours.replace("{h}", String(Math.floor(m / 60)))
      .replace("{mm}", (r < 10 ? "0" : "") + r);
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
  },
  // Opens a server-sent-event stream that never gives up. The browser retries by itself
  // after a dropped connection, but closes the stream for good on a non-200 answer (a 503
  // from the reverse proxy while no server is up): then it is reopened here, after 1 s, 2 s,
  // 4 s... up to 10 s, each with some jitter so a waiting room's phones do not come back all
  // at once. Each stream sends the current state first, so an open refreshes the page.
  // ``options``: ``state`` (the live indicator), ``on`` ({event name: handler}),
  // ``closed`` (called each time the browser gave the stream up). Returns {close}.
  stream: function (url, options) {
    var FIRST = 1000, MOST = 10000;
    var source = null, timer = null, failures = 0, stopped = false;
    var on = options.on || {};
    function connect() {
      timer = null;
      source = new EventSource(url);
      source.addEventListener("open", function () {
        failures = 0;
        window.Guichet.live(options.state, true);
      });
      source.addEventListener("error", function () {
        window.Guichet.live(options.state, false);
        if (stopped || source.readyState !== 2) { return; }  // 2: CLOSED
        if (options.closed) { options.closed(); }
        if (timer === null) {
          var wait = Math.min(MOST, FIRST * Math.pow(2, failures));
          failures += 1;
          timer = setTimeout(connect, wait * (0.75 + Math.random() * 0.5));
        }
      });
      Object.keys(on).forEach(function (name) { source.addEventListener(name, on[name]); });
    }
    connect();
    return {
      close: function () {
        stopped = true;
        if (timer !== null) { clearTimeout(timer); timer = null; }
        source.close();
      }
    };
  }
};
