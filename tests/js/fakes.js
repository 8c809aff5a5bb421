// Fakes for the browser half of static/htag-sse.js (its Client, Hub and Feed take
// their environment as an argument): a clock the test moves by hand, a server
// behind fetch() whose answers the test writes (streams it feeds SSE bytes to),
// tabs of one browser sharing BroadcastChannel messages, Web Locks and storage,
// and a page that records what it is asked to show.
// Not a test file itself (node --test runs *.test.js).
"use strict";

/** Let every pending promise callback and I/O tick run (streams resolve through several). */
async function settle(rounds = 12) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** env.clock: time moves only when the test says so; timers run in order of their due time. */
class FakeClock {
  constructor(start = 1_700_000_000_000) {
    this.t = start;
    this.timers = new Map();
    this.count = 0;
  }
  now() { return this.t; }
  setTimeout(fn, ms) {
    const id = ++this.count;
    this.timers.set(id, { id, at: this.t + Math.max(0, Number(ms) || 0), fn });
    return id;
  }
  clearTimeout(id) { this.timers.delete(id); }
  /** Move time forward by `ms`, running each timer due meanwhile (and what it sets off). */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const timer of this.timers.values()) {
        if (timer.at <= end && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

/** env.storage: localStorage's two methods. One per browser (its tabs share it). */
class FakeStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
}

const abortError = () => new DOMException("The operation was aborted.", "AbortError");

/** One request the client made: the test answers it (or fails it, or leaves it hanging). */
class FakeRequest {
  constructor(url, init, resolve, reject) {
    Object.assign(this, { url, init, resolve, reject });
    const [path, query] = url.split("?");
    this.path = path;
    this.query = new URLSearchParams(query || "");
    this.method = init.method || "GET";
    this.headers = init.headers || {};
    this.body = init.body;
    this.answered = false;
    this.aborted = false;
    this.controller = null;  // of a streamed answer
    if (init.signal) {
      init.signal.addEventListener("abort", () => {
        this.aborted = true;
        if (!this.answered) { this.answered = true; reject(abortError()); }
        else if (this.controller) { try { this.controller.error(abortError()); } catch (e) { /* closed */ } }
      });
    }
  }
  /** `p=<page>:<last>` parameters of a shared stream or poll, as {page: last}. */
  pages() {
    return Object.fromEntries(this.query.getAll("p").map((p) => {
      const colon = p.lastIndexOf(":");
      return [p.slice(0, colon), Number(p.slice(colon + 1))];
    }));
  }
  json() { return JSON.parse(this.body); }
  take() {
    if (this.answered) throw new Error("answered twice: " + this.url);
    this.answered = true;
  }
  /** Answer `status` with `body` (JSON unless a string). */
  reply(status, body = "") {
    this.take();
    const text = typeof body === "string" ? body : JSON.stringify(body);
    this.resolve(new Response([204, 205, 304].includes(status) ? null : text, { status }));
  }
  /** A network error (the server is unreachable). */
  fail() {
    this.take();
    this.reject(new TypeError("Failed to fetch"));
  }
  /** Answer with an event stream; returns what writes to it. */
  stream() {
    this.take();
    const encoder = new TextEncoder();
    const body = new ReadableStream({ start: (controller) => { this.controller = controller; } });
    this.resolve(new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }));
    const write = (text) => { if (!this.aborted) this.controller.enqueue(encoder.encode(text)); };
    return {
      write,
      hello: () => write(":" + " ".repeat(2048) + "\r\n\r\nid: 0\r\nevent: hello\r\ndata: {}\r\nretry: 2000\r\n\r\n"),
      event: (page, id, actions) => write("id: " + id + "\r\nevent: " + page + "\r\ndata: " + JSON.stringify(actions) + "\r\n\r\n"),
      gone: (page) => write("id: 0\r\nevent: gone\r\ndata: " + JSON.stringify({ page }) + "\r\n\r\n"),
      heartbeat: () => write(": \r\n\r\n"),
      end: () => this.controller.close(),  // the server ended the stream cleanly
      cut: () => this.controller.error(new TypeError("network error")),  // the connection broke
    };
  }
}

/** A server behind env.fetch: every request waits for the test to answer it. */
class FakeServer {
  constructor() {
    this.requests = [];
    this.fetch = (url, init = {}) => new Promise((resolve, reject) => {
      this.requests.push(new FakeRequest(url, init, resolve, reject));
    });
  }
  /** Requests to paths ending with `suffix` ("/events", "/poll", "/interact"...). */
  to(suffix) { return this.requests.filter((r) => r.path.endsWith(suffix)); }
  /** The one unanswered request to `suffix` (fails the test if there is not exactly one). */
  open(suffix) {
    const waiting = this.to(suffix).filter((r) => !r.answered);
    if (waiting.length !== 1) {
      throw new Error("expected one open request to " + suffix + ", found " + waiting.length + ": "
        + this.requests.map((r) => r.method + " " + r.url + (r.answered ? " (answered)" : "")).join(", "));
    }
    return waiting[0];
  }
}

/** One browser: its tabs share BroadcastChannel messages, Web Locks and storage. */
class FakeBrowser {
  constructor() {
    this.channels = [];
    this.locks = new Map();  // name -> {holder: tab or null, queue: [{tab, callback}]}
    this.storage = new FakeStorage();
  }

  /** A tab's env.BroadcastChannel and env.locks; `close()` closes the tab (its locks are released). */
  tab() {
    const browser = this;
    const tab = { closed: false };
    tab.BroadcastChannel = class {
      constructor(name) {
        this.name = name;
        this.onmessage = null;
        this.tab = tab;
        browser.channels.push(this);
      }
      postMessage(message) {
        for (const other of browser.channels) {
          if (other === this || other.name !== this.name || other.tab.closed) continue;
          const data = structuredClone(message);  // delivered later, as a copy
          setImmediate(() => { if (!other.tab.closed && other.onmessage) other.onmessage({ data }); });
        }
      }
      close() { this.tab.closed = true; }
    };
    tab.locks = {
      request(name, callback) {
        const lock = browser.locks.get(name) || { holder: null, queue: [] };
        browser.locks.set(name, lock);
        lock.queue.push({ tab, callback });
        browser.grant(name);
      },
    };
    tab.close = () => {
      tab.closed = true;
      for (const [name, lock] of browser.locks) {
        lock.queue = lock.queue.filter((q) => q.tab !== tab);
        if (lock.holder === tab) { lock.holder = null; browser.grant(name); }
      }
    };
    return tab;
  }

  grant(name) {
    const lock = this.locks.get(name);
    if (lock.holder || !lock.queue.length) return;
    const { tab, callback } = lock.queue.shift();
    lock.holder = tab;
    queueMicrotask(() => {
      Promise.resolve(callback()).finally(() => {
        if (lock.holder === tab) { lock.holder = null; this.grant(name); }
      });
    });
  }
}

/** env.page: records what the client asks of the document and window. */
class FakePage {
  constructor() {
    this.applied = [];  // actions, in the order they were applied
    this.reports = [];
    this.offlineShown = false;
    this.cookies = [];
    this.reloaded = false;
    this.secure = false;
  }
  install() {}
  start() {}
  apply(actions) { this.applied.push(actions); }
  report(text) { this.reports.push(text); }
  offline(on) { this.offlineShown = on; }
  busy() {}
  tagged() { return []; }
  morphBody() {}
  hasHandler() { return true; }
  reload() { this.reloaded = true; }
  setCookie(text) { this.cookies.push(text); }
  beacon() { return false; }
}

/** The boot settings the server sends (htag_sse/assets.py). */
function settings(overrides = {}) {
  return Object.assign({
    base: "/_htag", transport: "auto", grace_s: 60, heartbeat_s: 25, probe_s: 3, reload_cookie: "htag_reload",
    cookie_path: "/", page: "p1.a", token: "t1", last: 0,
  }, overrides);
}

module.exports = { settle, FakeClock, FakeStorage, FakeServer, FakeBrowser, FakePage, settings };
