// For a town's own website, beside the Guichet wait frame: sizes each frame marked
// data-guichet-embed to the height its page announces (postMessage from wait.js).
// Only messages from the frame's own window and origin are read; only a height is set.
(function () {
  "use strict";
  function originOf(frame) { return new URL(frame.src, window.location.href).origin; }
  window.addEventListener("message", function (e) {
    var msg = e.data;
    if (!msg || msg.type !== "guichet-embed-height" || typeof msg.height !== "number") { return; }
    var frames = document.querySelectorAll("iframe[data-guichet-embed]");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== e.source) { continue; }
      if (originOf(frame) !== e.origin) { continue; }
      frame.style.height = Math.max(120, Math.min(msg.height, 4000)) + "px";
    }
  });
  // This script loads asynchronously: a frame's page may have told its height before it ran,
  // to nobody. Each frame is asked to tell it again (a frame still loading is not asked: it
  // has no page of its origin yet, and tells its height when its page runs).
  var frames = document.querySelectorAll("iframe[data-guichet-embed]");
  for (var i = 0; i < frames.length; i++) {
    if (frames[i].contentWindow) {
      frames[i].contentWindow.postMessage({ type: "guichet-embed-ask" }, originOf(frames[i]));
    }
  }
})();
