// Follow my ticket: the card follows the ticket's state through server-sent events (or, if
// the browser has none, by asking every 10 seconds); "it's your turn" shows without reload.
"use strict";
(function () {
  var card = document.getElementById("ticket-card");
  var state = document.getElementById("live-state");
  if (!card) { return; }
  var baseTitle = document.title;
  var FINAL = { served: true, no_show: true, cancelled: true };

  function show(status, html, recalls) {
    var before = card.getAttribute("data-status");
    var recalledBefore = card.getAttribute("data-recalls") || "0";
    card.innerHTML = html;
    card.setAttribute("data-status", status);
    card.setAttribute("data-recalls", recalls || "0");
    if (status === "called") {
      document.title = card.getAttribute("data-title-called") + " · " + baseTitle;
      // A first call, and each recall, buzz the phone.
      var fresh = before !== "called" || (recalls || "0") !== recalledBefore;
      if (fresh && navigator.vibrate) { navigator.vibrate([300, 150, 300]); }
    } else {
      document.title = baseTitle;
    }
  }

  if (window.EventSource) {
    var stream = window.Guichet.stream(card.getAttribute("data-events-url"), {
      state: state,
      on: {
        ticket: function (e) {
          window.Guichet.live(state, true);
          var msg = JSON.parse(e.data);
          show(msg.status, msg.html, msg.recalls);
          // A finished ticket changes no more: stop listening (and reconnecting).
          if (FINAL[msg.status]) { stream.close(); if (state) { state.hidden = true; } }
        }
      }
    });
  } else {
    setInterval(function () {
      fetch(card.getAttribute("data-card-url"), { credentials: "omit" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (msg) { if (msg) { show(msg.status, msg.html, msg.recalls); } })
        .catch(function () {});
    }, 10000);
  }
})();
