// Live status of the Sign in with Self login page: server-sent events, polling when they are not available.
// When the request ends, the browser goes to the callback, which signs in or comes back here saying what happened.
(function () {
  "use strict";
  var words = {
    accepted: "Approved. Signing you in\u2026",
    rejected: "The sign-in was declined on your device.",
    expired: "The request expired.",
    not_connected: "Your device has not connected to this site yet.",
    errored: "The request could not reach your device.",
    invalid: "This sign-in link is not valid."
  };

  var countdown = document.getElementById("countdown");
  if (countdown) {
    var end = Number(countdown.getAttribute("data-expires"));
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left > 0) { setTimeout(tick, 1000); }
    };
    tick();
  }

  var box = document.querySelector("[data-self-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-self-status");
  var status = document.getElementById("status");
  var done = false;
  var interval = 2000;

  function apply(s) {
    if (done || !s) { return; }
    if (!s.terminal) {
      var number = document.getElementById("number");
      if (number && s.number) { number.textContent = s.number; }
      return;
    }
    done = true;
    box.setAttribute("data-done", "true");
    box.setAttribute("data-outcome", s.status);
    if (status) { status.textContent = words[s.status] || "The request ended."; }
    if (s.next) { window.location.assign(s.next); }
  }

  function poll() {
    if (done) { return; }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) { apply(s); if (!done) { setTimeout(poll, interval); } })
      .catch(function () { setTimeout(poll, interval * 2); });
  }

  if (window.EventSource) {
    var source = new EventSource(url);
    source.addEventListener("status", function (e) {
      apply(JSON.parse(e.data));
      if (done) { source.close(); }
    });
    source.onerror = function () {
      // A closed stream (proxy, old server) falls back to polling; a dropped one reconnects by itself.
      if (!done && source.readyState === EventSource.CLOSED) { poll(); }
    };
  } else {
    poll();
  }
})();
