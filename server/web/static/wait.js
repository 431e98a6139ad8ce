// Live wait: refreshes the table every 60 seconds (a website widget does not need more).
// Inside a town's page (the embed), it tells the host page its height after each change, so
// the host's small script (embed-host.js) sizes the frame to fit: no scroll bar, no gap.
"use strict";
(function () {
  // The indicators' embed has no live table, only a height to announce (data-embed).
  var panel = document.getElementById("wait-panel") || document.querySelector("[data-embed]");
  if (!panel) { return; }
  var url = panel.getAttribute("data-fragment-url");
  var site = panel.getAttribute("data-embed");
  var told = 0;

  function tellHeight() {
    if (!site || window.parent === window) { return; }
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === told) { return; }
    told = height;
    window.parent.postMessage({ type: "guichet-embed-height", site: site, height: height }, "*");
  }

  if (site) {
    // The host page's script may start after this page told its height: it asks again.
    window.addEventListener("message", function (e) {
      if (e.source !== window.parent || !e.data || e.data.type !== "guichet-embed-ask") { return; }
      told = 0;
      tellHeight();
    });
    tellHeight();
    window.addEventListener("load", tellHeight);
    if (window.ResizeObserver) { new ResizeObserver(tellHeight).observe(document.body); }
    else { window.addEventListener("resize", tellHeight); }
  }
  if (!url) { return; }
  setInterval(function () {
    fetch(url, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { panel.innerHTML = html; tellHeight(); } })
      .catch(function () {});
  }, 60000);
})();
