// Agent console: the queue and the current ticket follow the site's events (server-sent
// events) without reloading; actions are ordinary form posts.
"use strict";
(function () {
  var panel = document.getElementById("console-panel");
  var state = document.getElementById("live-state");
  if (!panel || !window.EventSource) { return; }
  var panelUrl = panel.getAttribute("data-panel-url");
  var eventsUrl = panel.getAttribute("data-events-url");
  var offset = 0;  // server clock minus ours, seconds
  var pending = null;
  var busy = false;

  function refresh() {
    pending = null;
    if (busy) { pending = setTimeout(refresh, 200); return; }
    // Do not replace the form the agent is using.
    if (panel.contains(document.activeElement) && document.activeElement.tagName === "SELECT") {
      pending = setTimeout(refresh, 1000);
      return;
    }
    busy = true;
    fetch(panelUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          panel.innerHTML = html;
          window.Guichet.tick(panel, offset);
        }
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }

  var source = new EventSource(eventsUrl);
  source.addEventListener("open", function () { window.Guichet.live(state, true); });
  source.addEventListener("error", function () { window.Guichet.live(state, false); });
  source.addEventListener("changed", function (e) {
    window.Guichet.live(state, true);
    try { offset = JSON.parse(e.data).server_time - Date.now() / 1000; } catch (err) {}
    if (pending === null) { pending = setTimeout(refresh, 100); }
  });
  // The session ended (idle too long): the reload leads to the sign-in page.
  source.addEventListener("expired", function () { source.close(); window.location.reload(); });
  setInterval(function () { window.Guichet.tick(panel, offset); }, 15000);
})();
