/* htag-sse browser client: interactions over HTTP POST, pushes over Server-Sent
 * Events or long-poll. Plain JS, no build step. See docs/protocol.md.
 *
 * htag's own page script defines start(), action(), _error() and jevent();
 * this file defines interact() (which htag's event handlers call) and boots
 * with htagSSE({...}) from that same script.
 */
(function () {
  "use strict";

  let cfg = null;        // {page, token, base, transport, last, grace_s}
  let seq = 0;           // number of the interaction in flight (a retry reuses it)
  let last = 0;          // id of the last pushed event applied
  let gen = 0;           // transport generation: bumping it stops the current stream/poll
  let stream = null;
  let rerunning = null;  // promise of a rerun in progress
  const queue = [];      // interactions wait here: one in flight at a time, in order
  let busy = false;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const delay = (n) => Math.min(10000, 250 * 2 ** Math.min(n, 6)) * (0.75 + Math.random() / 2);
  const url = (what) => cfg.base + "/" + cfg.page + "/" + what;

  function setOffline(on) {
    document.documentElement.classList.toggle("htag-offline", on);
  }

  function showError(text) {
    const box = document.createElement("div");
    box.className = "htag-sse-error";
    box.title = "click to dismiss";
    box.textContent = text === null ? "communication error" : String(text);
    box.onclick = () => box.remove();
    document.documentElement.appendChild(box);
  }

  function replaceBody(html) {
    document.body.outerHTML = html;
  }

  // Apply htag actions (update/stream/post/next/err), plus "body": a full refresh.
  function apply(actions) {
    if (actions.body !== undefined) {
      replaceBody(actions.body);
      delete actions.body;
    }
    try {
      action(actions);
    } catch (e) {
      // htag's action() reports an "err" through _error(), then throws: already shown
    }
  }

  function headers(extra) {
    return Object.assign({ "X-Htag-Token": cfg.token }, extra || {});
  }

  // ------------------------------------------------------------ interactions
  window.interact = function (o) {
    return new Promise((resolve) => {
      queue.push([o, resolve]);
      pump();
    });
  };

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const [o, resolve] = queue.shift();
      try {
        await send(o);
      } catch (e) {
        console.error("htag-sse:", e);
      }
      resolve();
    }
    busy = false;
  }

  async function send(o) {
    if (rerunning) await rerunning;
    const n = ++seq;
    const body = JSON.stringify(o);
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await fetch(url("interact"), {
          method: "POST", body, credentials: "same-origin", cache: "no-store",
          headers: headers({ "Content-Type": "application/json", "X-Htag-Seq": String(n) }),
        });
      } catch (e) {  // network down: retry the same interaction (the server runs it once)
        setOffline(true);
        await sleep(delay(attempt));
        continue;
      }
      if (r.status === 410) return rerun();  // the page is gone: the click targeted the old one
      if (r.status === 502 || r.status === 503 || r.status === 504) {
        setOffline(true);
        await sleep(delay(attempt));
        continue;
      }
      const text = await r.text();
      if (r.ok) {
        if (cfg.transport === "none") setOffline(false);
        return apply(JSON.parse(text));
      }
      let message = text;
      try { message = JSON.parse(text).message || text; } catch (e) { /* not JSON */ }
      if (r.status === 404) return console.warn("htag-sse:", message);  // stale element
      return showError("HTTP " + r.status + ": " + message);
    }
  }

  // ------------------------------------------------------------ pushes
  function onEvent(id, actions) {
    if (id > last || actions.body !== undefined) {
      last = id;
      apply(actions);
    }
  }

  function startTransport() {
    const g = ++gen;
    if (cfg.transport === "poll") pollLoop(g);
    else if (cfg.transport === "none") aliveLoop(g);
    else sse(g, 0);
  }

  function stopTransport() {
    gen++;
    if (stream) stream.close();
    stream = null;
  }

  function sse(g, attempt) {
    if (g !== gen) return;
    const es = (stream = new EventSource(url("events") + "?last=" + last));
    es.addEventListener("hello", () => { attempt = 0; setOffline(false); });
    es.addEventListener("gone", () => { es.close(); rerun(); });
    es.onmessage = (e) => onEvent(+e.lastEventId, JSON.parse(e.data));
    es.onerror = () => {  // reconnect ourselves, with backoff, resuming after `last`
      es.close();
      if (g !== gen) return;
      setOffline(true);
      setTimeout(() => sse(g, attempt + 1), delay(attempt));
    };
  }

  async function pollLoop(g) {
    for (let attempt = 0; g === gen; ) {
      try {
        const r = await fetch(url("poll") + "?after=" + last, { credentials: "same-origin", cache: "no-store" });
        if (g !== gen) return;
        if (r.status === 410) return rerun();
        if (!r.ok) throw new Error("HTTP " + r.status);
        const answer = await r.json();
        setOffline(false);
        attempt = 0;
        for (const [id, actions] of answer.events) onEvent(id, actions);
      } catch (e) {
        setOffline(true);
        await sleep(delay(attempt++));
      }
    }
  }

  async function aliveLoop(g) {  // transport "none": only keep the page from expiring
    while (g === gen) {
      await sleep((cfg.grace_s * 1000) / 3);
      if (g !== gen) return;
      try {
        const r = await fetch(url("alive"), { credentials: "same-origin", cache: "no-store" });
        if (r.status === 410) return rerun();
      } catch (e) { /* the next interaction will tell */ }
    }
  }

  // ------------------------------------------------------------ rerun
  // The server lost this page (restart, expiry): recreate it from the session
  // and swap in its fresh body.
  function rerun() {
    if (!rerunning) rerunning = doRerun().finally(() => { rerunning = null; });
    return rerunning;
  }

  async function doRerun() {
    stopTransport();
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await fetch(url("rerun"), { method: "POST", credentials: "same-origin", headers: headers() });
      } catch (e) {
        setOffline(true);
        await sleep(delay(attempt));
        continue;
      }
      if (r.status >= 500) { await sleep(delay(attempt)); continue; }
      if (!r.ok) { location.reload(); return; }  // no record of the page left: load it anew
      const fresh = await r.json();
      Object.assign(cfg, { page: fresh.page, token: fresh.token });
      last = fresh.last;
      seq = 0;
      setOffline(false);
      apply({ body: fresh.body, post: fresh.post });
      startTransport();
      return;
    }
  }

  // ------------------------------------------------------------ boot
  const CSS = `
html.htag-offline::after { content: "Connection lost \\2014 reconnecting\\2026"; position: fixed; left: 50%;
  bottom: 1em; transform: translateX(-50%); background: #333; color: #fff; padding: .4em .9em; border-radius: 4px;
  font: 14px/1.4 system-ui, sans-serif; z-index: 2147483647; pointer-events: none; }
.htag-sse-error { position: fixed; top: 1em; right: 1em; max-width: 40em; max-height: 50vh; overflow: auto;
  background: #b00020; color: #fff; padding: .6em .9em; border-radius: 4px; white-space: pre-wrap;
  font: 13px/1.4 ui-monospace, monospace; z-index: 2147483647; cursor: pointer; }`;

  window.htagSSE = function (config) {
    cfg = config;
    last = config.last || 0;
    if (!window.error) window.error = showError;  // htag's _error() shows errors through it
    const go = () => {
      const style = document.createElement("style");
      style.textContent = CSS;
      document.head.appendChild(style);
      start();
      startTransport();
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  };
  window.addEventListener("pagehide", stopTransport);
  window.addEventListener("pageshow", (e) => { if (e.persisted && cfg) startTransport(); });
})();
