// Live wait: refreshes the table every 60 seconds (a website widget does not need more).
"use strict";
(function () {
  var panel = document.getElementById("wait-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-fragment-url");
  setInterval(function () {
    fetch(url, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { panel.innerHTML = html; } })
      .catch(function () {});
  }, 60000);
})();
