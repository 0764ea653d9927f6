// A save that fails (no connection, no answer in time, the console erroring or unable to reach
// its database) changes nothing on the page: htmx swaps no error answer in, so every input keeps
// what was typed. This says so next to the form that was sent, in the page's language
// (the texts come from templates/errors/_save_failed.html).
(function () {
  "use strict";
  var NOTE = "save-failed";

  // A failed poll or preview (GET) saves nothing: the next one tries again by itself.
  function isSave(detail) {
    var verb = detail.requestConfig && detail.requestConfig.verb;
    return !!verb && verb.toLowerCase() !== "get";
  }

  // The form that was sent, or the button that sent a request of its own.
  function anchorOf(elt) {
    return (elt && elt.closest && elt.closest("form")) || elt;
  }

  function noteOf(anchor) {
    if (anchor.tagName === "FORM") {
      return anchor.querySelector(":scope > ." + NOTE);
    }
    var next = anchor.nextElementSibling;
    return next && next.classList.contains(NOTE) ? next : null;
  }

  function clear(elt) {
    var anchor = anchorOf(elt);
    var note = anchor && noteOf(anchor);
    if (note) { note.remove(); }
  }

  function say(elt, kind, status) {
    var anchor = anchorOf(elt);
    var texts = document.getElementById("save-failed-messages");
    var text = texts && texts.content.querySelector('[data-kind="' + kind + '"]');
    if (!anchor || !anchor.isConnected || !text) { return; }
    var note = noteOf(anchor);
    if (!note) {
      note = document.createElement("p");
      note.className = "alert " + NOTE;
      note.setAttribute("role", "alert");
      if (anchor.tagName === "FORM") { anchor.appendChild(note); } else { anchor.insertAdjacentElement("afterend", note); }
    }
    note.textContent = text.textContent.replace("{status}", String(status || ""));
    note.scrollIntoView({ block: "nearest" });
  }

  // The console's own 503 (its database away) asks to retry after a while; a proxy's does not.
  function kindOf(xhr) {
    if (xhr.status === 503 && xhr.getResponseHeader("Retry-After")) { return "unavailable"; }
    return xhr.status >= 500 ? "server" : "refused";
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (isSave(evt.detail)) { clear(evt.detail.elt); }
  });
  document.addEventListener("htmx:responseError", function (evt) {
    if (isSave(evt.detail)) { say(evt.detail.elt, kindOf(evt.detail.xhr), evt.detail.xhr.status); }
  });
  document.addEventListener("htmx:sendError", function (evt) {
    if (isSave(evt.detail)) { say(evt.detail.elt, "offline"); }
  });
  document.addEventListener("htmx:timeout", function (evt) {
    if (isSave(evt.detail)) { say(evt.detail.elt, "timeout"); }
  });
})();
