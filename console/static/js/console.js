// Live clocks: ages ([data-since]) and countdowns ([data-due]) tick every second from
// server-given times, corrected by the server clock offset, with no page polling.
(function () {
  "use strict";
  // Buttons that only matter without JavaScript (class no-js) hide once scripts run.
  document.documentElement.classList.add("js");
  // The main navigation is a <details> that CSS keeps open on a wide screen; a browser without
  // ::details-content gets it opened instead.
  var navMenu = document.querySelector(".nav-menu");
  if (navMenu && !(window.CSS && CSS.supports("selector(::details-content)")) &&
      window.matchMedia("(min-width: 761px)").matches) { navMenu.open = true; }
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var offsetMs = 0;
  var meta = document.querySelector('meta[name="server-time"]');
  if (meta) { offsetMs = Date.parse(meta.content) - Date.now(); }

  function now() { return Date.now() + offsetMs; }

  // Ages read as durations ("23分05秒"); countdowns as a clock face ("09:59").
  function span(ms, clock) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    var pad = function (n) { return n < 10 ? "0" + n : "" + n; };
    if (d > 0) { return zh ? d + "天" + h + "小时" : d + "d " + h + "h"; }
    if (h > 0) { return zh ? h + "小时" + pad(m) + "分" : h + "h " + pad(m) + "m"; }
    if (clock) { return pad(m) + ":" + pad(sec); }
    return zh ? m + "分" + pad(sec) + "秒" : m + "m " + pad(sec) + "s";
  }

  function tick() {
    var t = now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) { el.textContent = span(t - since); }
    });
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      var remindMs = parseInt(el.getAttribute("data-remind-ms") || "0", 10);
      if (isNaN(due)) { return; }
      var left = due - t;
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left <= remindMs);
      // A board row turns red as its next deadline passes due (missed ones the server marks).
      var row = el.closest("[data-due-row]");
      if (row && left < 0) { row.classList.add("overdue"); }
      var label = el.querySelector(".count") || el;
      label.textContent = left < 0 ? "+" + span(-left, true) : span(left, true);
    });
  }

  // A polled panel answered 304 reaches htmx as the same 200 body again (the browser
  // revalidates its cached copy): skip that swap, so focus, open <details> and the
  // screen reader's place stay where the person left them. Only self-refreshing panels.
  var lastBody = {};
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail;
    if (!d.elt || d.elt !== d.target || !d.elt.id || !d.xhr || d.xhr.status !== 200) { return; }
    if (!/\bevery\b/.test(d.elt.getAttribute("hx-trigger") || "")) { return; }
    var key = d.elt.id + " " + (d.pathInfo && d.pathInfo.requestPath);
    if (lastBody[key] === d.xhr.responseText) { d.shouldSwap = false; }
    lastBody[key] = d.xhr.responseText;
  });

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
