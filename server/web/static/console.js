// Agent console: the queue and the current ticket follow the site's events (server-sent
// events) without reloading. Actions are form posts; with this script they are sent in the
// background so the page, and the keyboard focus, stay where the agent is. "Absent" waits a
// few seconds with an Undo button before it is sent. Changes are announced in a live region.
"use strict";
(function () {
  var panel = document.getElementById("console-panel");
  var state = document.getElementById("live-state");
  var announcer = document.getElementById("console-announce");
  var undoBar = document.getElementById("undo-bar");
  var undoText = document.getElementById("undo-text");
  var undoButton = document.getElementById("undo-button");
  if (!panel || !window.EventSource || !window.fetch || !window.FormData) { return; }
  var panelUrl = panel.getAttribute("data-panel-url");
  var eventsUrl = panel.getAttribute("data-events-url");
  var UNDO_SECONDS = 8;
  var offset = 0;  // server clock minus ours, seconds
  var pending = null;
  var busy = false;
  var summary = summaryOf();  // the queue's summary as the panel shows it
  var spoken = summary;  // the summary as last announced (with an action's answer, or alone)
  var absent = null;  // {form, data, label, left, timer}
  var shown = panel.innerHTML;  // the panel as last read: an identical read changes nothing
  // A button pressed but not yet released (mouse, finger, or the space bar): replacing the
  // panel now would lose the press (the release would land on a new button, not the one
  // pressed), so a refresh waits for the release.
  var holding = false;
  panel.addEventListener("pointerdown", function () { holding = true; });
  panel.addEventListener("keydown", function (e) { if (e.key === " ") { holding = true; } });
  ["pointerup", "pointercancel", "keyup", "blur"].forEach(function (name) {
    window.addEventListener(name, function () { holding = false; }, true);
  });

  function summaryOf() {
    var root = panel.querySelector("[data-summary]");
    return root ? root.getAttribute("data-summary") : "";
  }

  function announce(text) {
    if (!announcer || !text) { return; }
    // Clearing first makes screen readers speak a repeated message again.
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function focusKey() {
    var el = document.activeElement;
    return el && panel.contains(el) && el.id ? el.id : null;
  }

  function restoreFocus(key) {
    if (!key) { return; }
    // Never take the focus back from a control outside the panel (the Undo button).
    var at = document.activeElement;
    if (at && at !== document.body && !panel.contains(at)) { return; }
    var el = document.getElementById(key);
    // The control used may be gone or disabled now (Recall once the visitor is done):
    // the agent's next move is most often "Next".
    if (!el || el.disabled) { el = document.getElementById("action-next"); }
    if (el && !el.disabled) { el.focus(); }
  }

  function refresh(then) {
    pending = null;
    var again = function () { refresh(then); };
    if (busy) { pending = setTimeout(again, 200); return; }
    // Do not replace a list the agent has opened, nor a button being pressed.
    if (panel.contains(document.activeElement) && document.activeElement.tagName === "SELECT") {
      pending = setTimeout(again, 1000);
      return;
    }
    if (holding) { pending = setTimeout(again, 100); return; }
    busy = true;
    var later = false;
    fetch(panelUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && holding) {
          // Pressed while the read was on its way: read again once released.
          later = true;
          return;
        }
        if (html !== null && html !== undefined && html !== shown) {
          // Read the focus now, not when the request left: the agent may have moved since.
          var key = focusKey();
          shown = html;
          panel.innerHTML = html;
          window.Guichet.tick(panel, offset);
          restoreFocus(key);
          summary = summaryOf();
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (later) { pending = setTimeout(again, 100); return; }
        // An action's refresh leaves the announcement to it (its answer and the summary in
        // one message); any other read announces the summary if it changed.
        if (then) { then(); } else { speakSummary(); }
      });
  }

  // Announces the summary unless it was announced as it is now. Whichever read first sees a
  // change (the stream's, or that of an action whose answer a later action's overtook)
  // announces it: none is lost.
  function speakSummary() {
    if (summary !== spoken) { spoken = summary; announce(summary); }
  }

  var posted = 0;  // actions sent so far: only the latest one's result is announced

  function post(form, data, key) {
    var mine = ++posted;
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Guichet-Fetch": "1", "Accept": "application/json" }
    })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { window.location.reload(); return null; }
        return r.json();
      })
      .then(function (msg) {
        if (msg) {
          refresh(function () {
            // A later action's answer may have come first: an older one is not announced
            // over it (the agent hears what their last press did), but a change of the queue
            // its read found is.
            if (mine !== posted) { speakSummary(); return; }
            restoreFocus(key);
            spoken = summary;
            announce(msg.message + " " + summary);
          });
        }
      })
      .catch(function () { form.submit(); });  // the network failed: fall back to a plain post
  }

  function sendAbsent() {
    if (!absent) { return; }
    var job = absent;
    absent = null;
    clearInterval(job.timer);
    leaveUndo("action-next");
    post(job.form, job.data, "action-next");
  }

  // Hides the undo bar; the focus, if it was there, goes back to the panel's control ``key``.
  function leaveUndo(key) {
    if (undoBar.contains(document.activeElement)) {
      var el = document.getElementById(key);
      if (el && !el.disabled) { el.focus(); } else { document.activeElement.blur(); }
    }
    undoBar.hidden = true;
  }

  function startAbsent(form, data, label) {
    var template = undoBar.getAttribute("data-pending");
    absent = { form: form, data: data, label: label, left: UNDO_SECONDS, timer: null };
    function show() {
      undoText.textContent = template.replace("{label}", label).replace("{n}", String(absent.left));
    }
    show();
    undoBar.hidden = false;
    undoButton.focus();
    announce(undoText.textContent);
    absent.timer = setInterval(function () {
      if (!absent) { return; }
      absent.left -= 1;
      if (absent.left <= 0) { sendAbsent(); } else { show(); }
    }, 1000);
  }

  if (undoButton) {
    undoButton.addEventListener("click", function () {
      if (!absent) { return; }
      var label = absent.label;
      clearInterval(absent.timer);
      absent = null;
      leaveUndo("action-done");
      announce(panel.getAttribute("data-undone").replace("{label}", label));
    });
  }
  // Leaving the page does not lose a pending "Absent": it is sent on the way out.
  window.addEventListener("pagehide", function () {
    if (absent && navigator.sendBeacon) {
      navigator.sendBeacon(absent.form.getAttribute("action"), absent.data);
      absent = null;
    }
  });

  panel.addEventListener("submit", function (e) {
    var form = e.target;
    var button = e.submitter;
    e.preventDefault();
    if (absent) { sendAbsent(); }
    var data = new FormData(form);
    if (button && button.name) { data.set(button.name, button.value); }
    var key = button && button.id ? button.id : focusKey();
    if (button && button.value === "no-show") {
      startAbsent(form, data, button.getAttribute("data-label") || "");
      return;
    }
    post(form, data, key);
  });

  var stream = window.Guichet.stream(eventsUrl, {
    state: state,
    on: {
      changed: function (e) {
        window.Guichet.live(state, true);
        try { offset = JSON.parse(e.data).server_time - Date.now() / 1000; } catch (err) {}
        if (pending === null) { pending = setTimeout(function () { refresh(); }, 100); }
      },
      // The session ended (idle too long): the reload leads to the sign-in page.
      expired: function () { stream.close(); window.location.reload(); }
    },
    // Refused for good: a signed-out agent is sent to sign in by the panel's read (a server
    // away answers nothing, and the stream is reopened later).
    closed: function () { refresh(); }
  });
  setInterval(function () { window.Guichet.tick(panel, offset); }, 15000);
})();
