// The queue follows the event log: on each server-sent "changed" event, fetch the rows again
// (with the page's filters) and swap them in. No inline script: the page's CSP forbids it.
"use strict";
(function () {
  const queue = document.getElementById("queue");
  if (!queue || !window.EventSource) return;
  let pending = false;
  async function refresh() {
    if (pending) return;
    pending = true;
    try {
      const r = await fetch(queue.dataset.rows, {credentials: "same-origin",
                                                 headers: {"Accept": "text/html"}});
      if (r.ok) {
        queue.innerHTML = await r.text();
        queue.dataset.updated = String(Date.now());
      }
    } finally {
      pending = false;
    }
  }
  const events = new EventSource(queue.dataset.events);
  events.addEventListener("changed", refresh);
  window.addEventListener("pagehide", () => events.close());
})();
