/* htag-sse browser client: interactions over HTTP POST, pushes over Server-Sent
 * Events or long-poll. Plain JS, no build step. See docs/protocol.md and
 * docs/transport.md.
 *
 * htag's own page script defines start(), action(), _error() and jevent();
 * this file defines interact() (which htag's event handlers call) and boots
 * with htagSSE({...}) from that same script. morph.js must be loaded first.
 */
(function () {
  "use strict";

  let cfg = null;        // {page, token, base, transport, last, grace_s, heartbeat_s, probe_s}
  let seq = 0;           // number of the interaction in flight (a retry reuses it)
  let last = 0;          // id of the last pushed event applied to this tab's page
  let rerunning = null;  // promise of a rerun in progress
  let renamed = new Map();  // old tag id -> new id, from the last rerun
  let hub = null;        // how this tab receives its pushes (see Hub below)
  const queue = [];      // interactions wait here: one in flight at a time, in order
  let busy = false;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const backoff = (n) => Math.min(10000, 250 * 2 ** Math.min(n, 6)) * (0.75 + Math.random() / 2);
  const pageUrl = (what) => cfg.base + "/" + cfg.page + "/" + what;

  // ------------------------------------------------------------ parano mode
  // Bodies, answers and events sealed with AES-GCM under the page's key
  // (WebCrypto: browsers offer it on https and on localhost only).
  let key = null;  // the page's CryptoKey in parano mode
  const text = new TextEncoder();
  const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const importKey = (raw) => crypto.subtle.importKey("raw", unb64(raw), "AES-GCM", false, ["encrypt", "decrypt"]);
  async function seal(purpose, message) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: text.encode(purpose) },
      key, text.encode(JSON.stringify(message)));
    const out = new Uint8Array(12 + sealed.byteLength);
    out.set(iv);
    out.set(new Uint8Array(sealed), 12);
    return b64(out);
  }
  async function open(purpose, sealed, withKey) {
    const raw = unb64(sealed);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: raw.slice(0, 12), additionalData: text.encode(purpose) },
      withKey || key, raw.slice(12));
    return JSON.parse(new TextDecoder().decode(plain));
  }

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

  // Apply htag actions (update/stream/post/next/err), plus "body": a whole new
  // <body>, morphed in place so scroll, focus and typed text survive.
  function apply(actions) {
    if (actions.body !== undefined) {
      window.htagMorph.morphBody(actions.body);
      delete actions.body;
    }
    try {
      action(actions);
    } catch (e) {
      // htag's action() reports an "err" through _error(), then throws: already shown
    }
  }

  // ------------------------------------------------------------ interactions
  window.interact = function (o) {
    return new Promise((resolve) => {
      queue.push([o, cfg.page, resolve]);
      pump();
    });
  };

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const [o, page, resolve] = queue.shift();
      try {
        await send(o, page);
      } catch (e) {
        console.error("htag-sse:", e);
      }
      resolve();
    }
    busy = false;
  }

  async function send(o, page) {
    let n = null;
    for (let attempt = 0; ; attempt++) {
      if (rerunning) await rerunning;
      if (page !== cfg.page) {  // the page was rerun since: replay on its new self, or give up
        o = replayable(o);
        if (!o) return;
        page = cfg.page;
        n = null;
      }
      if (n === null) n = ++seq;  // a retry keeps its number: the server runs it once
      const body = key ? await seal("htag-sse up", { n, o }) : JSON.stringify(o);
      let r;
      try {
        r = await fetch(pageUrl("interact"), {
          method: "POST", body, credentials: "same-origin", cache: "no-store",
          headers: { "X-Htag-Token": cfg.token, "Content-Type": key ? "text/plain" : "application/json",
                     "X-Htag-Seq": String(n) },
        });
      } catch (e) {  // network down: retry
        setOffline(true);
        await sleep(backoff(attempt));
        continue;
      }
      if (r.status === 410) {  // the page is gone: rerun it (the loop then replays the click)
        await rerun(page);
        attempt = -1;
        continue;
      }
      if (r.status === 502 || r.status === 503 || r.status === 504) {
        setOffline(true);
        await sleep(backoff(attempt));
        continue;
      }
      const answer = await r.text();
      if (r.ok) {
        if (!hub || !hub.feed || hub.feed.online) setOffline(false);
        if (!key) return apply(JSON.parse(answer));
        const opened = await open("htag-sse down", answer);
        if (opened.n !== n) throw new Error("an answer to another interaction");
        return apply(opened.a);
      }
      let message = answer;
      try { message = JSON.parse(answer).message || answer; } catch (e) { /* not JSON */ }
      if (r.status === 404) return console.warn("htag-sse:", message);  // an element removed meanwhile
      return showError("HTTP " + r.status + ": " + message);
    }
  }

  // An interaction meant for the old page, rewritten for the rerun one: the
  // element it targeted was morphed in place, so it now has the new tag's id.
  // Only when that element still carries the same handler.
  function replayable(o) {
    const old = String(o.id), fresh = renamed.get(old);
    if (!fresh) return null;
    const again = JSON.parse(JSON.stringify(o).split(old).join(fresh));
    if (o.method === "__on__" || o.method === "__on_event__") {
      const handler = String(again.args[0]);
      const el = document.getElementById(fresh);
      const attr = el && el.getAttribute(handler.split("-")[0]);
      if (!attr || !attr.includes(handler)) return null;
    }
    return again;
  }

  // ------------------------------------------------------------ pushes
  let events = Promise.resolve();  // events are applied in order, after any decryption
  function onEvent(id, data) {
    events = events.then(async () => {
      const actions = key ? await unseal(id, data) : data;
      if (actions && (id > last || actions.body !== undefined)) {
        last = id;
        apply(actions);
      }
    }).catch((e) => console.error("htag-sse: event", id, e));
  }
  async function unseal(id, sealed) {
    const message = await open("htag-sse event", sealed);
    return message.i === id ? message.a : null;  // an event replayed or moved by a proxy is ignored
  }

  // The transport actually used: "sse" or "poll" ("auto" starts with SSE and
  // falls back to long-poll, remembered for 30 minutes, when a proxy buffers).
  const memoryKey = () => "htag-sse-transport:" + cfg.base;
  let fellBack = false;
  function chosenTransport() {
    if (cfg.transport !== "auto") return cfg.transport;
    if (fellBack) return "poll";
    try {
      const saved = JSON.parse(localStorage.getItem(memoryKey()) || "null");
      if (saved && saved.until > Date.now()) return saved.mode;
    } catch (e) { /* no storage */ }
    return "sse";
  }
  function rememberPoll(reason) {
    console.warn("htag-sse: server-sent events do not get through (" + reason + "): using long-poll");
    fellBack = true;
    try {
      localStorage.setItem(memoryKey(), JSON.stringify({ mode: "poll", until: Date.now() + 30 * 60000 }));
    } catch (e) { /* no storage */ }
  }

  // Reads an SSE response body; calls onEvent(name, id, data) and, for every
  // chunk (heartbeats included), onBytes().
  async function readStream(response, onEvent, onBytes) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let ev = { name: "message", id: null, data: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onBytes();
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const raw of lines) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (line === "") {
          if (ev.data !== null) onEvent(ev.name, ev.id, ev.data);
          ev = { name: "message", id: null, data: null };
        } else if (line[0] !== ":") {
          const c = line.indexOf(":");
          const field = c < 0 ? line : line.slice(0, c);
          let value = c < 0 ? "" : line.slice(c + 1);
          if (value[0] === " ") value = value.slice(1);
          if (field === "data") ev.data = ev.data === null ? value : ev.data + "\n" + value;
          else if (field === "event") ev.name = value;
          else if (field === "id") ev.id = value;
        }
      }
    }
  }

  // A Feed holds ONE connection (stream or long-poll) for a set of pages
  // {page id: last event id}, and hands their events to `deliver`.
  class Feed {
    constructor(deliver, gone, status) {
      Object.assign(this, { deliver, gone, status });
      this.pages = new Map();
      this.gen = 0;
      this.online = false;
      this.abort = null;
      this.timer = null;
    }
    set(pid, lastId) { this.pages.set(pid, lastId); this.restart(); }
    remove(pid) { if (this.pages.delete(pid)) this.restart(); }
    stop() { this.gen++; if (this.abort) this.abort(); }
    restart() {  // batch joins that come together into one reconnection
      clearTimeout(this.timer);
      this.timer = setTimeout(() => { this.stop(); this.run(this.gen); }, 20);
    }
    params() {
      return Array.from(this.pages, ([p, l]) => "p=" + encodeURIComponent(p + ":" + l)).join("&");
    }
    setOnline(on) {
      if (on !== this.online) { this.online = on; this.status(!on); }
    }
    received(pid, id, actions) {
      if (!this.pages.has(pid)) return;
      this.pages.set(pid, id);
      this.deliver(pid, id, actions);
    }
    lost(pid) {
      if (this.pages.delete(pid)) this.gone(pid);
    }
    async run(gen) {
      for (let failures = 0; gen === this.gen && this.pages.size; ) {
        const mode = chosenTransport();
        let ok;
        try {
          ok = mode === "poll" ? await this.pollOnce(gen) : await this.streamOnce(gen);
        } catch (e) {
          ok = false;
        }
        if (gen !== this.gen) return;
        if (ok) { failures = 0; continue; }
        this.setOnline(false);
        await sleep(backoff(failures++));
      }
    }
    async streamOnce(gen) {
      const ctrl = new AbortController();
      this.abort = () => ctrl.abort();
      const probeMs = cfg.probe_s * 1000;
      const stallMs = (cfg.heartbeat_s * 2 + 5) * 1000;
      let hello = false, verdict = null, timer = null;
      const arm = (ms, why) => {
        clearTimeout(timer);
        timer = setTimeout(() => { verdict = why; ctrl.abort(); }, ms);
      };
      arm(probeMs, "no first event within " + cfg.probe_s + " s");
      try {
        const r = await fetch(cfg.base + "/events?" + this.params(), {
          signal: ctrl.signal, credentials: "same-origin", cache: "no-store", headers: { Accept: "text/event-stream" },
        });
        if (!r.ok) return false;
        await readStream(r, (name, id, data) => {
          if (name === "hello") { hello = true; arm(stallMs, "stream stalled"); this.setOnline(true); }
          else if (name === "gone") this.lost(JSON.parse(data).page);
          else this.received(name, Number(id), JSON.parse(data));
        }, () => arm(hello ? stallMs : probeMs, hello ? "stream stalled" : "no first event within " + cfg.probe_s + " s"));
        return hello;  // the server ended the stream (it is stopping): reconnect
      } catch (e) {
        if (verdict && cfg.transport === "auto" && gen === this.gen) rememberPoll(verdict);
        return false;
      } finally {
        clearTimeout(timer);
      }
    }
    async pollOnce(gen) {
      const ctrl = new AbortController();
      this.abort = () => ctrl.abort();
      const timer = setTimeout(() => ctrl.abort(), 60000);
      try {
        const r = await fetch(cfg.base + "/poll?" + this.params(), {
          signal: ctrl.signal, credentials: "same-origin", cache: "no-store",
        });
        if (!r.ok) return false;
        const answer = await r.json();
        if (gen !== this.gen) return true;
        this.setOnline(true);
        for (const [pid, events] of Object.entries(answer.pages)) {
          for (const [id, actions] of events) this.received(pid, id, actions);
        }
        answer.gone.forEach((pid) => this.lost(pid));
        return true;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  // A Hub gets this tab its pushes. The tabs of a browser elect a leader
  // (Web Locks) which holds the one connection for all their pages and
  // forwards each event to its tab (BroadcastChannel): a browser keeps ~6
  // connections per HTTP/1.1 host, so one stream per tab would starve the
  // 7th tab. Without these APIs each tab holds its own connection.
  class Hub {
    constructor() {
      this.feed = null;
      const name = "htag-sse:" + cfg.base + ":" + cfg.transport;
      if (window.BroadcastChannel && navigator.locks) {
        this.channel = new BroadcastChannel(name);
        this.channel.onmessage = (e) => this.heard(e.data);
        navigator.locks.request(name, () => new Promise(() => this.lead()));  // held until the tab closes
        this.announce();
      } else {
        this.channel = null;
        this.lead();
      }
    }
    say(message) { if (this.channel) this.channel.postMessage(message); }
    announce() { if (!this.feed) this.say({ t: "join", p: cfg.page, l: last }); }
    lead() {
      this.feed = new Feed(
        (pid, id, actions) => (pid === cfg.page ? onEvent(id, actions) : this.say({ t: "ev", p: pid, i: id, a: actions })),
        (pid) => (pid === cfg.page ? rerun(pid) : this.say({ t: "gone", p: pid })),
        (offline) => { setOffline(offline); this.say({ t: "net", off: offline }); },
      );
      this.feed.set(cfg.page, last);
      this.say({ t: "who" });  // followers answer with their page
    }
    heard(m) {
      if (m.t === "ev" && m.p === cfg.page) onEvent(m.i, m.a);
      else if (m.t === "gone" && m.p === cfg.page) rerun(m.p);
      else if (m.t === "net") setOffline(m.off);
      else if (m.t === "who") this.announce();
      else if (m.t === "join" && this.feed) this.feed.set(m.p, m.l);
      else if (m.t === "leave" && this.feed) this.feed.remove(m.p);
    }
    switchPage(oldPage) {  // after a rerun: follow the new page instead of the old one
      if (this.feed) { this.feed.remove(oldPage); this.feed.set(cfg.page, last); }
      else { this.say({ t: "leave", p: oldPage }); this.announce(); }
    }
    leave() {
      if (this.feed) this.feed.stop();
      else this.say({ t: "leave", p: cfg.page });
    }
  }

  async function aliveLoop() {  // transport "none": only keep the page from expiring
    for (;;) {
      await sleep((cfg.grace_s * 1000) / 3);
      try {
        const page = cfg.page;
        const r = await fetch(pageUrl("alive"), { credentials: "same-origin", cache: "no-store" });
        if (r.status === 410) rerun(page);
      } catch (e) { /* the next interaction will tell */ }
    }
  }

  // ------------------------------------------------------------ rerun
  // The server lost this page (restart, expiry): recreate it from the session
  // and morph its fresh body in.
  function rerun(page) {
    if (page !== cfg.page) return rerunning || Promise.resolve();  // that page was rerun already
    if (!rerunning) rerunning = doRerun().finally(() => { rerunning = null; });
    return rerunning;
  }

  async function doRerun() {
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await fetch(pageUrl("rerun"), { method: "POST", credentials: "same-origin", headers: { "X-Htag-Token": cfg.token } });
      } catch (e) {
        setOffline(true);
        await sleep(backoff(attempt));
        continue;
      }
      if (r.status >= 500) { await sleep(backoff(attempt)); continue; }
      if (!r.ok) { location.reload(); return; }  // no record of the page left: load it anew
      const fresh = key ? await open("htag-sse rerun", await r.text()) : await r.json();
      if (fresh.key) key = await importKey(fresh.key);
      const oldPage = cfg.page;
      Object.assign(cfg, { page: fresh.page, token: fresh.token });
      last = fresh.last;
      seq = 0;
      const tagged = Array.from(document.querySelectorAll("[id]"), (el) => [el.id, el]).filter(([id]) => /^\d+$/.test(id));
      apply({ body: fresh.body, post: fresh.post });
      const next = new Map(tagged.filter(([id, el]) => el.isConnected && el.id !== id).map(([id, el]) => [id, el.id]));
      for (const [old, mid] of renamed) if (next.has(mid)) next.set(old, next.get(mid));  // across several reruns
      renamed = next;
      if (hub) hub.switchPage(oldPage);
      if (!hub || !hub.feed || hub.feed.online) setOffline(false);
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
    cfg = Object.assign({ probe_s: 3, heartbeat_s: 25 }, config);
    last = cfg.last || 0;
    if (!window.error) window.error = showError;  // htag's _error() shows errors through it
    const go = async () => {
      const style = document.createElement("style");
      style.textContent = CSS;
      document.head.appendChild(style);
      if (cfg.parano) key = await importKey(cfg.key);
      start();
      if (cfg.transport === "none") aliveLoop();
      else hub = new Hub();
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  };
  window.addEventListener("pagehide", () => { if (hub) hub.leave(); });
  // debugging/tests: which transport this tab ended up with, and whether it leads
  window.htagSSEState = () => ({
    page: cfg && cfg.page, last, parano: !!key, transport: cfg && (cfg.transport === "none" ? "none" : chosenTransport()),
    leader: !!(hub && hub.feed), following: hub && hub.feed ? Array.from(hub.feed.pages.keys()) : null,
  });
})();
