/* htag-sse browser client: interactions over HTTP POST, pushes over Server-Sent
 * Events or long-poll. Plain JS, no build step. See docs/client.md,
 * docs/protocol.md and docs/transport.md.
 *
 * htag's own page script defines start() and jevent(); its event handlers call
 * interact(), defined here. That script ends with htagSSE({...}), which boots
 * this client with every setting it needs. morph.js must be loaded first.
 *
 * Nothing here reads window or document but the boot at the end: the pure
 * parts, then the browser half (Feed, Hub, Client, DomPage), whose objects are
 * given their environment (fetch, timers, storage, BroadcastChannel, locks, the
 * page) — the real browser's at boot, fakes in the node tests (tests/js/), which
 * load this file as a CommonJS module.
 */
(function () {
  "use strict";

  // ================================================================ pure parts

  /** At most this many interactions in one POST (the server refuses more). */
  const MAX_BATCH = 64;
  /** Answers meaning "the server cannot be reached right now": retried with backoff. */
  const RETRIED = [502, 503, 504];
  /** Refusals of what a POST carried: the server used up one number for it
   * (a batch's own refusals come inside its answer). Every other refusal
   * (token, origin, order, page gone) changed nothing on the server. */
  const USED_UP = ["bad_interaction", "unknown_event", "forbidden_method", "unknown_id", "too_large"];
  /** Associated data of sealed messages (parano mode): which way they travel. */
  const PURPOSE = { up: "htag-sse up", down: "htag-sse down", event: "htag-sse event", rerun: "htag-sse rerun" };

  /** Milliseconds to wait before retry number `attempt`: 0.25 s doubling up to 10 s, jittered ±25%. */
  function backoff(attempt, random = Math.random) {
    return Math.min(10000, 250 * 2 ** Math.min(attempt, 6)) * (0.75 + random() / 2);
  }

  // ------------------------------------------------------------ parano mode
  // Bodies, answers and events sealed with AES-GCM under the page's key
  // (WebCrypto: browsers offer it on https and on localhost only).

  /** base64url without padding (the server's parano.b64). */
  function b64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {  // in slices: spreading a big array overflows the stack
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64(text) {
    const binary = atob(text.trim().replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  const importKey = (raw) => crypto.subtle.importKey("raw", unb64(raw), "AES-GCM", false, ["encrypt", "decrypt"]);

  /** base64url(nonce[12] + ciphertext + tag[16]) of the JSON `message`. */
  async function seal(key, purpose, message) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(purpose) },
      key, new TextEncoder().encode(JSON.stringify(message)));
    const out = new Uint8Array(12 + sealed.byteLength);
    out.set(iv);
    out.set(new Uint8Array(sealed), 12);
    return b64(out);
  }

  /** The message inside `sealed`; rejects what was not sealed with `key` for `purpose`. */
  async function openSealed(key, purpose, sealed) {
    const raw = unb64(sealed);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: raw.slice(0, 12), additionalData: new TextEncoder().encode(purpose) },
      key, raw.slice(12));
    return JSON.parse(new TextDecoder().decode(plain));
  }

  // ------------------------------------------------------------ SSE parsing
  /** A Server-Sent Events parser: feed it chunks (bytes or text, cut anywhere);
   * it calls onEvent(name, id, data) for each complete event. Lines end with
   * LF, CRLF or CR; ":" lines are comments (heartbeats); an event's id is its
   * own `id:` field (null without one). */
  function sseParser(onEvent) {
    const decoder = new TextDecoder();
    let buffer = "", started = false, afterCR = false;
    let name = "", id = null, data = null;

    function line(text) {
      if (text === "") {
        if (data !== null) onEvent(name || "message", id, data);
        name = "";
        id = data = null;
        return;
      }
      if (text[0] === ":") return;
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "data") data = data === null ? value : data + "\n" + value;
      else if (field === "event") name = value;
      else if (field === "id" && !value.includes("\0")) id = value;
    }

    return function push(chunk) {
      let text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      if (!text) return;
      if (!started) {
        started = true;
        if (text[0] === "\uFEFF") text = text.slice(1);
      }
      if (afterCR && text[0] === "\n") text = text.slice(1);  // the LF of a CRLF cut after its CR
      const from = buffer.length;
      buffer += text;
      const ends = /\r\n|\r|\n/g;
      ends.lastIndex = from;  // the buffer before `from` holds no line end
      let start = 0;
      afterCR = false;
      for (let m; (m = ends.exec(buffer)); ) {
        line(buffer.slice(start, m.index));
        start = ends.lastIndex;
        afterCR = m[0] === "\r" && start === buffer.length;
      }
      buffer = buffer.slice(start);
    };
  }

  // ------------------------------------------------------------ batches
  /** Interactions wait here while a POST is in flight; the next POST carries
   * all that queued meanwhile (up to MAX_BATCH), in order. `send(items)`
   * delivers one batch; `onBusy(true/false)` says whether one is in flight. */
  class Outbox {
    constructor(send, onBusy) {
      this.send = send;
      this.onBusy = onBusy;
      this.queue = [];
      this.sending = false;
      this.waiting = [];  // idle()'s resolvers
    }

    /** Queue `item`; resolves once its batch was answered (or given up). */
    add(item) {
      return new Promise((resolve) => {
        this.queue.push({ item, resolve });
        if (!this.sending) this.pump();
      });
    }

    async pump() {
      this.sending = true;
      this.onBusy(true);
      await Promise.resolve();  // interactions queued by the same script run leave in one POST
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.send(batch.map((b) => b.item));
        } catch (e) {
          console.error("htag-sse: interactions lost:", e);
        }
        batch.forEach((b) => b.resolve());
      }
      this.sending = false;
      this.onBusy(false);
      this.waiting.splice(0).forEach((resolve) => resolve());
    }

    /** Resolves once nothing is queued or in flight. */
    idle() {
      return this.sending ? new Promise((resolve) => this.waiting.push(resolve)) : Promise.resolve();
    }
  }

  /** A POST body: one interaction as itself, several as an array. */
  const payloadOf = (interactions) => (interactions.length === 1 ? interactions[0] : interactions);

  /** The answer to a POST of `count` interactions, as one outcome per interaction. */
  function outcomesOf(answer, count) {
    if (count === 1) return [answer];
    if (!Array.isArray(answer) || answer.length !== count) {
      throw new Error("the answer does not match the " + count + " interactions sent");
    }
    return answer;
  }

  /** A batch entry refusing its interaction: {"error": code, "message": text, "status": 4xx}. */
  const isRefusal = (outcome) => outcome !== null && typeof outcome === "object"
    && typeof outcome.error === "string" && typeof outcome.status === "number";

  // ------------------------------------------------------------ reruns
  /** After a rerun's morph: old tag id -> new id of every tagged element that
   * survived, chained with the `previous` rerun's map. `before`: [id, element]
   * pairs taken before the morph (elements keep their object, not their id). */
  function renamedAfter(before, previous) {
    const next = new Map();
    for (const [old, el] of before) if (el.isConnected && /^\d+$/.test(el.id)) next.set(old, el.id);
    for (const [old, mid] of previous) if (!next.has(old) && next.has(mid)) next.set(old, next.get(mid));
    return next;
  }

  /** Interaction `o`, queued for a page rerun since, rewritten for the new one;
   * null when its tags did not survive. Only ids change: `o.id` and, for an
   * event handler, the tag id in its name (`args[0]`, "<event>-<tag id>") —
   * never the user's values. `hasHandler(tag id, event, name)` tells whether
   * that element still carries this handler. */
  function replayFor(o, renamed, hasHandler) {
    const id = renamed.get(String(o.id));
    if (id === undefined) return null;
    const again = Object.assign({}, o, { id: typeof o.id === "number" ? Number(id) : id });
    if (o.method === "__on__" || o.method === "__on_event__") {
      if (!Array.isArray(o.args)) return null;
      const name = String(o.args[0]);
      const dash = name.lastIndexOf("-");
      const owner = dash > 0 ? renamed.get(name.slice(dash + 1)) : undefined;
      if (owner === undefined) return null;
      const event = name.slice(0, dash);
      again.args = [event + "-" + owner].concat(o.args.slice(1));
      if (!hasHandler(owner, event, again.args[0])) return null;
    }
    return again;
  }

  /** htag's scripts for the tags of an answer: `(function(self){ <js>\n })(document.getElementById('<id>'));`
   * (htag's Tag._genIIFEScript). The ids of the tags whose own `js` runs again with
   * this answer, not counting htag's declarations of exposed methods (`self.<name> =
   * function(_) {…}`, harmless to run again): an update gives these tags new elements,
   * as htag's outerHTML did, so that what their js sets up (listeners, widgets) is set
   * up once. */
  const IIFE = /\(function\(self\)\{ ([\s\S]*?)\n \}\)\(document\.getElementById\('([^']+)'\)\);/g;
  const DECLARES = /^self\.[A-Za-z_$][\w$]* = function\(_\) \{/;
  function scriptTargets(post) {
    const ids = new Set();
    if (typeof post !== "string") return ids;
    for (const m of post.matchAll(IIFE)) if (!DECLARES.test(m[1])) ids.add(m[2]);
    return ids;
  }

  const pure = { MAX_BATCH, backoff, b64, unb64, importKey, seal, openSealed, sseParser, Outbox, payloadOf,
    outcomesOf, isRefusal, renamedAfter, replayFor, scriptTargets };

  // ================================================================ the browser half
  // Objects that are given their environment: the real browser's at boot
  // (browserEnv below), fakes under node (tests/js/). What they are given:
  //
  //   env.fetch(url, init)        WHATWG fetch (streaming response bodies)
  //   env.BroadcastChannel        constructor, or null (then each tab holds its own connection)
  //   env.locks                   navigator.locks ({request(name, callback)}), or null
  //   env.storage                 localStorage-like ({getItem, setItem}), or null
  //   env.clock                   {now(), setTimeout(fn, ms), clearTimeout(timer)}
  //   env.random()                for the backoff's jitter
  //   env.page                    the document and window: see DomPage for what it does
  //
  // State lives on the objects: one Client per tab, which makes a Hub (its pushes),
  // which as the leader makes a Feed (the one connection).

  /** Boot settings the server must send (htag_sse/assets.py). */
  const REQUIRED = ["base", "page", "token", "transport", "grace_s", "heartbeat_s", "probe_s", "last", "reload_cookie",
    "cookie_path"];
  const RELOAD_COOKIE_S = 5;  // the reload's GET leaves right after beforeunload
  const BUSY_DELAY_MS = 150;  // fast clicks never show the busy cursor
  const MAX_ERROR_BOXES = 5;
  const REMEMBER_POLL_MS = 30 * 60000;

  const sleep = (clock, ms) => new Promise((resolve) => clock.setTimeout(resolve, ms));

  // ------------------------------------------------------------ transport choice
  /** The transport actually used: "sse" or "poll" ("auto" starts with SSE and falls
   * back to long-poll, remembered in storage for 30 minutes, when a proxy buffers). */
  class TransportChoice {
    constructor(cfg, env) {
      this.configured = cfg.transport;
      this.key = "htag-sse-transport:" + cfg.base;
      this.env = env;
      this.fellBack = false;
    }
    current() {
      if (this.configured !== "auto") return this.configured;
      if (this.fellBack) return "poll";
      try {
        const saved = JSON.parse(this.env.storage.getItem(this.key) || "null");
        if (saved && saved.until > this.env.clock.now()) return saved.mode;
      } catch (e) { /* no storage */ }
      return "sse";
    }
    fallBack(reason) {
      console.warn("htag-sse: server-sent events do not get through (" + reason + "): using long-poll");
      this.fellBack = true;
      try {
        this.env.storage.setItem(this.key, JSON.stringify({ mode: "poll", until: this.env.clock.now() + REMEMBER_POLL_MS }));
      } catch (e) { /* no storage */ }
    }
  }

  // ------------------------------------------------------------ Feed
  /** ONE connection (stream or long-poll) for a set of pages {page id: last event
   * id}; hands their events to `deliver(page, id, actions)`, a page the server no
   * longer has to `gone(page)`, and says `status(offline)` when that changes.
   * `cfg`: {base, transport, probe_s, heartbeat_s}; `choice`: a TransportChoice. */
  class Feed {
    constructor(env, cfg, choice, { deliver, gone, status }) {
      Object.assign(this, { env, cfg, choice, deliver, gone, status });
      this.pages = new Map();
      this.gen = 0;
      this.online = null;  // unknown: a first connection that fails shows offline too
      this.abort = null;
      this.timer = null;
    }
    set(pid, lastId) { this.pages.set(pid, lastId); this.restart(); }
    remove(pid) { if (this.pages.delete(pid)) this.restart(); }
    stop() { this.gen++; if (this.abort) this.abort(); }
    restart() {  // joins that come together make one reconnection
      this.env.clock.clearTimeout(this.timer);
      this.timer = this.env.clock.setTimeout(() => { this.stop(); this.run(this.gen); }, 20);
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
        let ok;
        try {
          ok = this.choice.current() === "poll" ? await this.pollOnce(gen) : await this.streamOnce(gen);
        } catch (e) {
          ok = false;
        }
        if (gen !== this.gen) return;
        if (ok) { failures = 0; continue; }
        this.setOnline(false);
        await sleep(this.env.clock, backoff(failures++, this.env.random));
      }
    }
    async streamOnce(gen) {
      const { clock } = this.env;
      const ctrl = new AbortController();
      this.abort = () => ctrl.abort();
      const probe = "no first event within " + this.cfg.probe_s + " s";
      const stallMs = (this.cfg.heartbeat_s * 2 + 5) * 1000;  // heartbeats come every heartbeat_s at the latest
      let hello = false, verdict = null, timer = null;
      const arm = () => {
        clock.clearTimeout(timer);
        const [ms, why] = hello ? [stallMs, "stream stalled"] : [this.cfg.probe_s * 1000, probe];
        timer = clock.setTimeout(() => { verdict = why; ctrl.abort(); }, ms);
      };
      arm();
      try {
        const r = await this.env.fetch(this.cfg.base + "/events?" + this.params(), {
          signal: ctrl.signal, credentials: "same-origin", cache: "no-store", headers: { Accept: "text/event-stream" },
        });
        if (!r.ok) return false;
        const push = sseParser((name, id, data) => {
          if (name === "hello") { hello = true; arm(); this.setOnline(true); }
          else if (name === "gone") this.lost(JSON.parse(data).page);
          else this.received(name, Number(id), JSON.parse(data));
        });
        const reader = r.body.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return hello;  // the server ended the stream (it is stopping): reconnect
          arm();  // any byte, heartbeats included, shows the stream flows
          push(value);
        }
      } catch (e) {
        if (verdict && this.cfg.transport === "auto" && gen === this.gen) this.choice.fallBack(verdict);
        return false;
      } finally {
        clock.clearTimeout(timer);
      }
    }
    async pollOnce(gen) {
      const { clock } = this.env;
      const ctrl = new AbortController();
      this.abort = () => ctrl.abort();
      const timer = clock.setTimeout(() => ctrl.abort(), 60000);  // the server answers within poll_timeout_s (25 s)
      try {
        const r = await this.env.fetch(this.cfg.base + "/poll?" + this.params(), {
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
        clock.clearTimeout(timer);
      }
    }
  }

  // ------------------------------------------------------------ Hub
  /** Gets a tab its pushes. The tabs of a browser elect a leader (env.locks)
   * which holds the one connection for all their pages and forwards each event
   * to its tab (env.BroadcastChannel): a browser keeps ~6 connections per
   * HTTP/1.1 host, so one stream per tab would starve the 7th tab. Without these
   * APIs each tab holds its own connection. `tab`: {where() -> {page, last},
   * event(page, id, actions), gone(page), offline(on)}. */
  class Hub {
    constructor(env, cfg, choice, tab) {
      Object.assign(this, { env, cfg, choice, tab });
      this.feed = null;
      this.channel = null;
      const name = "htag-sse:" + cfg.base + ":" + cfg.transport;
      if (env.BroadcastChannel && env.locks) {
        this.channel = new env.BroadcastChannel(name);
        this.channel.onmessage = (e) => this.heard(e.data);
        env.locks.request(name, () => new Promise(() => this.lead()));  // held until the tab closes
        this.announce();
      } else {
        this.lead();
      }
    }
    here() { return this.tab.where().page; }
    say(message) { if (this.channel) this.channel.postMessage(message); }
    announce() {
      if (this.feed) return;
      const { page, last } = this.tab.where();
      this.say({ t: "join", p: page, l: last });
    }
    lead() {
      this.feed = new Feed(this.env, this.cfg, this.choice, {
        deliver: (pid, id, actions) => (pid === this.here() ? this.tab.event(pid, id, actions) : this.say({ t: "ev", p: pid, i: id, a: actions })),
        gone: (pid) => (pid === this.here() ? this.tab.gone(pid) : this.say({ t: "gone", p: pid })),
        status: (off) => { this.tab.offline(off); this.say({ t: "net", off }); },
      });
      const { page, last } = this.tab.where();
      this.feed.set(page, last);
      this.say({ t: "who" });  // followers answer with their page
    }
    heard(m) {
      if (m.t === "ev") this.tab.event(m.p, m.i, m.a);
      else if (m.t === "gone" && m.p === this.here()) this.tab.gone(m.p);
      else if (m.t === "net") this.tab.offline(m.off);
      else if (m.t === "who") this.announce();
      else if (m.t === "join" && this.feed) this.feed.set(m.p, m.l);
      else if (m.t === "leave" && this.feed) this.feed.remove(m.p);
    }
    switchPage(oldPage) {  // after a rerun: follow the new page instead of the old one
      const { page, last } = this.tab.where();
      if (this.feed) { this.feed.remove(oldPage); this.feed.set(page, last); }
      else { this.say({ t: "leave", p: oldPage }); this.announce(); }
    }
    leave() {
      if (this.feed) this.feed.stop();
      else this.say({ t: "leave", p: this.here() });
    }
    rejoin() {  // back from the back/forward cache
      const { page, last } = this.tab.where();
      if (this.feed) this.feed.set(page, last);
      else this.announce();
    }
  }

  // ------------------------------------------------------------ Client
  /** One tab's client: its page {page, token, seq, last, key, renamed} (replaced
   * whole by a rerun), its interactions (an Outbox), its pushes (a Hub), what the
   * page shows (env.page). */
  class Client {
    constructor(config, env) {
      const missing = REQUIRED.filter((k) => config[k] === undefined);
      if (config.parano && !config.key) missing.push("key");
      if (missing.length) throw new Error("htag-sse: the boot settings lack " + missing.join(", "));
      this.cfg = Object.freeze(Object.assign({}, config));
      this.env = env;
      this.page = env.page;
      this.state = { page: this.cfg.page, token: this.cfg.token, seq: 0, last: this.cfg.last, key: null, renamed: new Map() };
      const first = this.state;
      this.ready = (this.cfg.parano ? importKey(this.cfg.key) : Promise.resolve(null)).then((key) => { first.key = key; });
      this.hub = null;
      this.rerunning = null;  // promise of the rerun in progress
      this.leftAt = null;  // when the tab last started to unload (beforeunload)
      this.events = Promise.resolve();  // events are applied in order, after any decryption
      this.offline = { push: false, requests: false };  // the push channel / POSTs cannot reach the server
      this.choice = new TransportChoice(this.cfg, env);
      this.outbox = new Outbox((items) => this.sendBatch(items), (on) => this.page.busy(on));
    }

    /** Once the document is parsed: the page's initial JS, then pushes. */
    async start() {
      this.page.install();
      await this.ready;
      this.page.start();
      if (this.cfg.transport === "none") this.aliveLoop();
      else this.hub = new Hub(this.env, this.cfg, this.choice, {
        where: () => ({ page: this.state.page, last: this.state.last }),
        event: (pid, id, actions) => this.onEvent(pid, id, actions),
        gone: (pid) => this.ended(pid),
        offline: (off) => this.setOffline("push", off),
      });
    }

    url(st, what) { return this.cfg.base + "/" + st.page + "/" + what; }

    setOffline(what, on) {
      this.offline[what] = on;
      this.page.offline(this.offline.push || this.offline.requests);
    }

    apply(actions) { this.page.apply(actions); }

    // ---------------------------------------------------------- requests
    /** fetch() for interactions, reruns and releases. `init()` gives the
     * request's options for each attempt. With `retry`, network errors and
     * 502/503/504 are retried with backoff (the page shows offline meanwhile). */
    async request(url, init, retry) {
      for (let attempt = 0; ; attempt++) {
        let r = null;
        try {
          r = await this.env.fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" }, await init()));
        } catch (e) {
          this.setOffline("requests", true);
          if (!retry) throw e;
        }
        if (r !== null) this.setOffline("requests", RETRIED.includes(r.status));
        if (r !== null && (!retry || !RETRIED.includes(r.status))) return r;
        await sleep(this.env.clock, backoff(attempt, this.env.random));
      }
    }

    // ---------------------------------------------------------- interactions
    /** htag's interact(o): queued; resolves once its POST was answered and applied. */
    interact(o) { return this.outbox.add({ o, st: this.state }); }

    async sendBatch(items) {
      await this.ready;
      for (;;) {
        if (this.rerunning) await this.rerunning;
        const st = this.state;
        const sent = [];
        for (const item of items) {
          if (item.o && item.st !== st) {  // queued before a rerun: replay it on the new page, or drop it
            item.o = replayFor(item.o, st.renamed, (id, event, name) => this.page.hasHandler(id, event, name));
            item.st = st;
            if (!item.o) console.info("htag-sse: an interaction dropped: its element did not survive the rerun");
          }
          if (item.o) sent.push(item.o);
        }
        if (!sent.length) return;
        const n = st.seq + 1;  // X-Htag-Seq: the number of the first; a retry sends the same
        st.seq += sent.length;
        const payload = payloadOf(sent);
        const r = await this.request(this.url(st, "interact"), async () => ({
          method: "POST",
          headers: { "X-Htag-Token": st.token, "X-Htag-Seq": String(n), "Content-Type": st.key ? "text/plain" : "application/json" },
          body: st.key ? await seal(st.key, PURPOSE.up, { n, o: payload }) : JSON.stringify(payload),  // sealed anew: a fresh nonce
        }), true);
        if (r.status === 410) {  // the page is gone: rerun it, then replay these on the new page
          await this.rerun(st.page);
          continue;
        }
        const text = await r.text();
        if (!r.ok) return this.refused(st, n, r.status, text);
        let outcomes;
        try {
          outcomes = outcomesOf(st.key ? await this.openAnswer(st, n, text) : JSON.parse(text), sent.length);
        } catch (e) {  // not an answer of ours (a proxy's page?)
          return this.page.report("COM ERROR: " + e.message, e);
        }
        for (const outcome of outcomes) {
          try {
            if (isRefusal(outcome)) this.refusal(outcome.status, outcome.message);
            else this.apply(outcome);
          } catch (e) {
            console.error("htag-sse: an answer could not be applied:", e);
          }
        }
        return;
      }
    }

    async openAnswer(st, n, text) {
      const message = await openSealed(st.key, PURPOSE.down, text);
      if (message.n !== n) throw new Error("an answer to other interactions");
      return message.a;
    }

    /** A whole POST refused (a single interaction's refusal keeps its status too). */
    refused(st, n, status, text) {
      let body = {};
      try {
        body = JSON.parse(text) || {};
      } catch (e) { /* not JSON: a proxy's page */ }
      st.seq = n - 1 + (USED_UP.includes(body.error) ? 1 : 0);  // the numbers nothing used are free again
      this.refusal(status, body.message || text.slice(0, 300));
    }

    refusal(status, message) {
      if (status === 404) console.warn("htag-sse: removed meanwhile:", message);  // an element gone by the time it arrived
      else this.page.report("HTTP " + status + ": " + message);
    }

    // ---------------------------------------------------------- pushes
    onEvent(pid, id, data) {
      const st = this.state;
      if (pid !== st.page) return;
      this.events = this.events.then(async () => {
        const actions = st.key ? await openEvent(st.key, id, data) : data;
        if (st === this.state && actions && (id > st.last || actions.body !== undefined)) {
          st.last = id;
          this.apply(actions);
        }
      }).catch((e) => console.error("htag-sse: event", id, e));
    }

    async aliveLoop() {  // transport "none": only keep the page from expiring
      for (;;) {
        await sleep(this.env.clock, (this.cfg.grace_s * 1000) / 3);
        const st = this.state;
        try {
          const r = await this.request(this.url(st, "alive"), () => ({}), false);
          if (r.status === 410) this.rerun(st.page);
        } catch (e) { /* offline: the next round or interaction tells */ }
      }
    }

    /** The stream says the server ended this page (its session ended, a logout...). The answers
     * of interactions in flight come first: the handler that ended it may send the browser
     * elsewhere (`self.session.clear(); self.call("location.href = '/'")`). */
    async ended(pid) {
      if (pid !== this.state.page) return;
      if (this.outbox.sending) console.info("htag-sse: the server ended page", pid, "- its answers in flight come first");
      await this.outbox.idle();
      await this.rerun(pid);
    }

    // ---------------------------------------------------------- rerun
    // The server lost this page (restart, expiry): recreate it from the session,
    // morph its fresh body in, and switch to the new page.
    rerun(pid) {
      if (pid !== this.state.page) return this.rerunning || Promise.resolve();  // that page was rerun already
      if (!this.rerunning) this.rerunning = this.rerunPage(this.state).finally(() => { this.rerunning = null; });
      return this.rerunning;
    }

    async rerunPage(st) {
      const r = await this.request(this.url(st, "rerun"), () => ({ method: "POST", headers: { "X-Htag-Token": st.token } }), true);
      if (!r.ok) {  // no record of the page left: load it anew (and wait for that)
        const leaving = this.leftAt !== null && this.env.clock.now() - this.leftAt < RELOAD_COOKIE_S * 1000;
        // a navigation under way (a link, a logout, location.href) ends this document: a reload
        // now would cancel it; it comes only if that navigation was called off
        if (leaving) this.env.clock.setTimeout(() => this.page.reload(), RELOAD_COOKIE_S * 1000);
        else this.page.reload();
        return new Promise(() => {});
      }
      const fresh = st.key ? await openSealed(st.key, PURPOSE.rerun, await r.text()) : await r.json();
      const key = fresh.key ? await importKey(fresh.key) : null;
      const before = this.page.tagged();
      this.page.morphBody(fresh.body);
      this.state = { page: fresh.page, token: fresh.token, seq: 0, last: fresh.last, key, renamed: renamedAfter(before, st.renamed) };
      if (this.hub) this.hub.switchPage(st.page);
      this.apply({ post: fresh.post });
    }

    // ---------------------------------------------------------- F5 and release
    // F5 keeps the live instance: as the tab is about to unload, a short-lived
    // cookie names its page, so that the reload's GET takes the page over. Then,
    // as it unloads (F5, closed, navigated away), it releases its page: the next
    // GET of the same app in this session may take it over.
    nameForReload() {
      const { cfg } = this, st = this.state;
      this.leftAt = this.env.clock.now();
      this.page.setCookie(cfg.reload_cookie + "=" + st.page + "~" + st.token + "; path=" + cfg.cookie_path
        + "; max-age=" + RELOAD_COOKIE_S + "; samesite=lax" + (this.page.secure ? "; secure" : ""));
    }
    forgetReload() {  // the tab stayed (back from the back/forward cache)
      this.page.setCookie(this.cfg.reload_cookie + "=; path=" + this.cfg.cookie_path + "; max-age=0");
    }
    release() {
      const st = this.state;
      const url = this.url(st, "release");
      if (this.page.beacon(url, st.token)) return;
      this.request(url, () => ({ method: "POST", keepalive: true, headers: { "X-Htag-Token": st.token } }), false).catch(() => {});
    }
    /** pagehide: the tab goes (reload, closed, navigated away, into the back/forward cache). */
    leave() {
      if (this.hub) this.hub.leave();
      this.release();
    }
    /** pageshow of a persisted page: back from the back/forward cache. */
    back() {
      this.forgetReload();
      if (this.hub) this.hub.rejoin();
    }

    /** For debugging and tests: this tab's page, transport, leadership, queue and offline state. */
    info() {
      const st = this.state, hub = this.hub;
      return {
        page: st.page, last: st.last, seq: st.seq, parano: !!st.key,
        transport: this.cfg.transport === "none" ? "none" : this.choice.current(),
        leader: !!(hub && hub.feed), online: hub && hub.feed ? hub.feed.online : null,
        following: hub && hub.feed ? Array.from(hub.feed.pages.keys()) : null,
        queued: this.outbox.queue.length, sending: this.outbox.sending, offline: Object.assign({}, this.offline),
        renamed: Object.fromEntries(st.renamed),
      };
    }
  }

  async function openEvent(key, id, sealed) {
    const message = await openSealed(key, PURPOSE.event, sealed);
    return message.i === id ? message.a : null;  // an event replayed or moved by a proxy is ignored
  }

  // ------------------------------------------------------------ the page
  // The banner lives on <html> (htag may replace <body>); \u2014 and \u2026 are
  // JS escapes, so the CSS text holds the characters themselves.
  const CSS = `
html.htag-offline::after { content: "Connection lost \u2014 reconnecting\u2026"; position: fixed; left: 50%;
  bottom: 16px; transform: translateX(-50%); background: #333; color: #fff; padding: 6px 13px; border-radius: 4px;
  font: 14px/1.4 system-ui, sans-serif; z-index: 2147483647; pointer-events: none; }
html.htag-busy, html.htag-busy * { cursor: progress; }
.htag-sse-errors { position: fixed; top: 16px; right: 16px; z-index: 2147483646; display: flex; flex-direction: column;
  gap: 8px; max-width: min(40em, calc(100vw - 32px)); max-height: calc(100vh - 96px); overflow: auto;
  pointer-events: none; }
.htag-sse-error { flex: none; max-height: 50vh; overflow: auto; background: #b00020; color: #fff; padding: 8px 13px;
  border-radius: 4px; white-space: pre-wrap; font: 13px/1.4 ui-monospace, monospace; cursor: pointer;
  pointer-events: auto; }`;

  /** env.page in the browser: what the client does to the document and window. */
  class DomPage {
    constructor(win) {
      this.win = win;
      this.doc = win.document;
      this.root = this.doc.documentElement;
      this.isOffline = false;
      this.busyTimer = null;
      this.errorColumn = null;
      this.reported = new WeakSet();  // errors reported already: thrown on by _error, caught again by runJS
      this.rethrown = undefined;  // the same for a thrown string (or other non-object), until it is caught
    }

    /** The client's style (first in <head>: the app's own rules for the same selectors win) and window.error. */
    install() {
      const style = this.doc.createElement("style");
      style.textContent = CSS;
      this.doc.head.prepend(style);
      if (!this.win.error) this.win.error = (text) => this.showError(text);  // unless the app has its own (or an element id="error")
      this.win.htagMorph.remember(this.doc);  // what the server rendered: <details>/<dialog> open or not
    }

    /** htag's start(): the page's initial JS. */
    start() {
      try {
        this.win.start();
      } catch (e) {
        this.report("JS ERROR: " + e, e);
      }
    }

    // -------------------------------------------------------- what the page shows
    offline(on) {
      this.isOffline = on;
      if (this.root.classList.contains("htag-offline") !== on) this.root.classList.toggle("htag-offline", on);
      const body = this.doc.body;  // htagweb's class, which its apps style
      if (body && body.classList.contains("htagoff") !== on) body.classList.toggle("htagoff", on);
    }

    busy(on) {
      this.win.clearTimeout(this.busyTimer);
      if (on) this.busyTimer = this.win.setTimeout(() => this.root.classList.add("htag-busy"), BUSY_DELAY_MS);
      else this.root.classList.remove("htag-busy");
    }

    /** The default window.error: a dismissable box, stacked top-right. */
    showError(text) {
      const doc = this.doc;
      if (!this.errorColumn || !this.errorColumn.isConnected) {
        this.errorColumn = doc.createElement("div");
        this.errorColumn.className = "htag-sse-errors";
        this.root.appendChild(this.errorColumn);
      }
      const box = doc.createElement("div");
      box.className = "htag-sse-error";
      box.title = "click to dismiss";
      box.textContent = text === null || text === undefined ? "communication error" : String(text);
      box.onclick = () => box.remove();
      this.errorColumn.appendChild(box);
      while (this.errorColumn.children.length > MAX_ERROR_BOXES) this.errorColumn.firstChild.remove();
    }

    // -------------------------------------------------------- errors
    // As htag's runner does: the console, and window.error(text) when it is a
    // function (the app's own, or showError). An element with id="error" makes
    // window.error that element: then the console only.

    /** Report `text`; `error` (what was thrown, if anything) is reported once. */
    report(text, error) {
      if (error !== null && typeof error === "object") {
        if (this.reported.has(error)) return;
        this.reported.add(error);
      } else if (error !== undefined && error === this.rethrown) {
        this.rethrown = undefined;
        return;
      }
      console.error("htag-sse: " + (text === null ? "communication error" : text), ...(error instanceof Error ? [error] : []));
      const hook = this.win.error;
      if (typeof hook !== "function") return;
      try {
        hook(text);
      } catch (e) {
        console.error("htag-sse: window.error failed:", e);
      }
    }

    /** htag's _error(txt, env), which its handlers call when they throw: reported once, then thrown on. */
    htagError(txt, env) {
      this.rethrown = undefined;
      this.report(txt === null && env === "COM" ? null : env + " ERROR: " + txt, txt);
      if (txt === null || typeof txt !== "object") this.rethrown = txt;
      throw txt;
    }

    /** Run JS of an answer or event (`post`, `next`): in the global scope, as htag's try_js does. */
    runJS(code) {
      try {
        new Function(code)();  // eslint-disable-line no-new-func
      } catch (e) {
        this.report("JS ERROR: " + e, e);
      }
    }

    // -------------------------------------------------------- actions
    /** Apply htag's actions (update/stream/post/next/err), plus "body": a whole
     * new <body>. Updates and bodies are morphed in (static/morph.js), elements
     * paired by id: the focused element, what the user typed, the caret, scroll
     * positions, an opened <details> survive; a value the server changed wins.
     * A tag whose js runs again (in `post`) gets a new element, as with htag's
     * outerHTML, so that what its js sets up is set up once. */
    apply(actions) {
      const morph = this.win.htagMorph;
      const fresh = scriptTargets(actions.post);
      if (actions.body !== undefined) morph.morphBody(actions.body, { byId: true, fresh });
      for (const [id, html] of Object.entries(actions.update || {})) {
        const el = this.doc.getElementById(id);
        if (el) morph.update(el, html, { fresh });
        else console.warn("htag-sse: no element", id, "to update");
      }
      for (const [id, html] of Object.entries(actions.stream || {})) {
        const el = this.doc.getElementById(id);
        if (!el) { console.warn("htag-sse: no element", id, "to stream into"); continue; }
        const last = el.lastChild;
        el.insertAdjacentHTML("beforeend", html);
        for (let n = last ? last.nextSibling : el.firstChild; n; n = n.nextSibling) morph.remember(n);
      }
      this.offline(this.isOffline);  // a new body lost the offline class
      if (actions.post !== undefined) this.runJS(actions.post);
      if (actions.next !== undefined) this.runJS(actions.next);
      if (actions.err !== undefined) this.report("PYTHON ERROR: " + actions.err);
    }

    // -------------------------------------------------------- reruns
    /** [tag id, element] of every tagged element, before a rerun's morph. */
    tagged() {
      return Array.from(this.doc.querySelectorAll("[id]"), (el) => [el.id, el]).filter(([id]) => /^\d+$/.test(id));
    }
    /** A rerun's body: its tag ids are all new, so elements are paired by position. */
    morphBody(html) { this.win.htagMorph.morphBody(html); }
    hasHandler(id, event, name) {
      const el = this.doc.getElementById(id);
      const attr = el && el.getAttribute(event);
      return !!attr && attr.includes(name);
    }
    reload() { this.win.location.reload(); }

    // -------------------------------------------------------- F5 and release
    get secure() { return this.win.location.protocol === "https:"; }
    setCookie(text) { this.doc.cookie = text; }
    beacon(url, body) {
      const nav = this.win.navigator;
      return !!(nav.sendBeacon && nav.sendBeacon(url, body));
    }
  }

  /** The real browser's environment. */
  function browserEnv(win) {
    let storage = null;
    try {
      storage = win.localStorage;  // reading it throws where storage is blocked
    } catch (e) { /* no storage */ }
    return {
      fetch: (url, init) => win.fetch(url, init),
      BroadcastChannel: win.BroadcastChannel || null,
      locks: (win.navigator && win.navigator.locks) || null,
      storage,
      clock: { now: () => Date.now(), setTimeout: (fn, ms) => win.setTimeout(fn, ms), clearTimeout: (t) => win.clearTimeout(t) },
      random: Math.random,
      page: new DomPage(win),
    };
  }

  const exported = Object.assign({}, pure, { TransportChoice, Feed, Hub, Client, DomPage, browserEnv });
  if (typeof module === "object" && module && module.exports) module.exports = exported;
  if (typeof window === "undefined" || typeof document === "undefined") return;

  // ================================================================ boot
  let client = null;  // this tab's Client, made by htagSSE({...})

  window.interact = (o) => {  // htag's event handlers call it
    if (!client) throw new Error("htag-sse: interact() before htagSSE({...}) booted the client");
    return client.interact(o);
  };

  window.htagSSE = function (config) {
    client = new Client(config, browserEnv(window));  // throws if a setting is missing
    const page = client.page;
    window._error = (txt, env) => page.htagError(txt, env);  // htag's handlers report their errors through it
    const go = () => client.start();
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  };

  window.addEventListener("beforeunload", () => { if (client) client.nameForReload(); });
  window.addEventListener("pagehide", () => { if (client) client.leave(); });
  window.addEventListener("pageshow", (e) => { if (e.persisted && client) client.back(); });

  /** For debugging and tests: this tab's page, transport, leadership, queue and offline state. */
  window.htagSSEState = () => (client ? client.info() : {
    page: null, last: null, seq: null, parano: false, transport: null, leader: false, online: null, following: null,
    queued: 0, sending: false, offline: { push: false, requests: false }, renamed: {},
  });
})();
