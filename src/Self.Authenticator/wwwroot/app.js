// The Self authenticator's page script: live requests (server-sent events), countdowns, answers without a reload,
// notifications while the page is in the background, copy buttons. Plain JS, shipped in the assembly.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var board = document.getElementById("requests");
  var cards = {};
  var skew = 0; // server clock minus this page's clock, in ms

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (value !== undefined && value !== null) { el.textContent = value; }
    return el;
  }

  function left(view) { return view.expiresAt - (Date.now() + skew); }

  function label(view) {
    switch (view.state) {
      case "accepted": return "Accepted";
      case "rejected": return "Rejected";
      case "unauthorized": return "Refused (app not connected)";
      case "expired": return "Expired — it can no longer be answered";
      default: return null;
    }
  }

  function render(view) {
    var card = cards[view.id];
    if (!card) {
      card = text("article", "card request");
      card.dataset.id = view.id;
      cards[view.id] = card;
      board.prepend(card);
    }
    if (view.state === "open" && left(view) <= 0) { view.state = "expired"; }
    card.view = view;
    card.className = "card request " + view.state;
    card.replaceChildren();
    var head = text("div", "row");
    head.append(text("h3", "app", view.appName || view.appId));
    var timer = text("span", "countdown");
    head.append(timer);
    card.append(head);
    var dl = text("dl");
    dl.append(text("dt", null, "Asks"), text("dd", "description", view.description || "Sign in"));
    if (view.bindingMessage) { dl.append(text("dt", null, "Check it shows"), text("dd", "binding", view.bindingMessage)); }
    dl.append(text("dt", null, "App id"), text("dd", "muted", view.appId));
    card.append(dl);
    var state = label(view);
    if (state) {
      card.append(text("p", "state " + view.state, state));
    } else {
      var form = text("form", "answer");
      form.method = "post";
      if (view.requiresNumber) {
        var l = text("label", "number", "Type the number shown on the sign-in screen");
        var input = text("input");
        input.name = "number"; input.inputMode = "numeric"; input.maxLength = 2; input.autocomplete = "off"; input.required = true;
        input.pattern = "[0-9]{2}";
        l.append(input);
        form.append(l);
      }
      if (view.requiresPassphrase) {
        var pl = text("label", "passphrase", "Your passphrase (this device asks for it before each Accept)");
        var pass = text("input");
        pass.name = "passphrase"; pass.type = "password"; pass.autocomplete = "current-password"; pass.required = true;
        pl.append(pass);
        form.append(pl);
      }
      var actions = text("div", "actions");
      var accept = text("button", "primary accept", "Accept"); accept.type = "submit"; accept.value = "accept";
      var reject = text("button", "reject", "Reject"); reject.type = "submit"; reject.value = "reject"; reject.formNoValidate = true;
      actions.append(accept, reject);
      form.append(actions);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var which = (e.submitter && e.submitter.value) || "accept";
        answer(view, which, new FormData(form), card);
      });
      card.append(form);
    }
    if (view.error) { card.append(text("p", "error", view.error)); }
    tick(card);
  }

  function answer(view, which, data, card) {
    card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch("/requests/" + encodeURIComponent(view.id) + "/" + which, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (result) {
      if (!result.ok) {
        view.error = result.message;
        if (result.state) { view.state = result.state; }
        render(view);
      }
    }).catch(function () {
      view.error = "The authenticator did not answer: is it still running?";
      render(view);
    });
  }

  function tick(card) {
    var view = card.view;
    var timer = card.querySelector(".countdown");
    if (!timer) { return; }
    if (view.state !== "open") { timer.textContent = ""; return; }
    var ms = left(view);
    if (ms <= 0) { view.state = "expired"; render(view); return; }
    var s = Math.ceil(ms / 1000);
    timer.textContent = (s >= 60 ? Math.floor(s / 60) + " min " : "") + (s % 60) + " s left";
  }

  function notify(view) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) { return; }
    try {
      new Notification("Sign-in request", { body: (view.appName || view.appId) + ": " + (view.description || "sign in"), tag: view.id, icon: "/icon-192.png" });
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  function accept(view, isNew) {
    if (typeof view.serverNow === "number") { skew = view.serverNow - Date.now(); }
    var known = !!cards[view.id];
    render(view);
    if (isNew && !known && view.state === "open") { notify(view); }
    var live = document.getElementById("live");
    if (live) { live.textContent = Object.keys(cards).length ? "" : "Requests appear here as they arrive."; }
  }

  if (board) {
    document.querySelectorAll("script.initial-request").forEach(function (s) { accept(JSON.parse(s.textContent), false); });
    var source = new EventSource("/events");
    source.addEventListener("request", function (e) { accept(JSON.parse(e.data), true); });
    source.addEventListener("open", function () { document.body.dataset.live = "yes"; });
    source.addEventListener("error", function () { document.body.dataset.live = "no"; });
    setInterval(function () { Object.keys(cards).forEach(function (id) { tick(cards[id]); }); }, 500);

    var button = document.getElementById("notify");
    if (button && "Notification" in window && Notification.permission === "default") {
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function () { button.hidden = true; });
      });
    }
  }

  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () {
      var value = b.dataset.copy;
      var done = function () { b.textContent = "Copied"; };
      if (navigator.clipboard) { navigator.clipboard.writeText(value).then(done, done); } else { done(); }
    });
  });
})();
