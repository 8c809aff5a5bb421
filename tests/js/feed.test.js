// The Feed of static/htag-sse.js: the one connection (SSE stream or long-poll) for
// a set of pages, under node with a fake server behind fetch() and a fake clock.
const test = require("node:test");
const assert = require("node:assert/strict");
const { Feed, TransportChoice } = require("./client.js");
const { FakeClock, FakeServer, FakeStorage, settings } = require("./fakes.js");

const UPDATE = (n) => ({ update: { 140: "<span id=\"140\">" + n + "</span>" } });

/** A Feed on fakes; `got` holds [page, id] of each event it delivered, in order. */
function harness(overrides = {}, storage = new FakeStorage()) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const env = { fetch: server.fetch, clock, storage, random: () => 0.5 };  // jitter 0.5: backoffs of 250, 500, 1000 ms…
  const cfg = settings(overrides);
  const choice = new TransportChoice(cfg, env);
  const got = [], gone = [], offline = [];
  const feed = new Feed(env, cfg, choice, {
    deliver: (page, id, actions) => got.push([page, id, actions]),
    gone: (page) => gone.push(page),
    status: (off) => offline.push(off),
  });
  return { clock, server, env, cfg, choice, feed, got, gone, offline, ids: () => got.map(([p, i]) => p + ":" + i) };
}

test("a stream that breaks is reopened after a backoff, resuming after its last event: nothing lost, nothing twice", async () => {
  const h = harness();
  h.feed.set("A", 4);
  h.feed.set("B", 9);
  await h.clock.advance(20);  // joins that come together make one connection
  const first = h.server.open("/events");
  assert.deepEqual(first.pages(), { A: 4, B: 9 });
  assert.equal(first.headers.Accept, "text/event-stream");
  const s = first.stream();
  s.hello();
  s.event("A", 5, UPDATE(5));
  s.event("B", 10, UPDATE(10));
  s.event("A", 6, UPDATE(6));
  await h.clock.advance(0);
  assert.deepEqual(h.ids(), ["A:5", "B:10", "A:6"]);
  assert.deepEqual(h.got[0][2], UPDATE(5));
  assert.deepEqual(h.offline, [false]);

  s.cut();  // the connection breaks
  await h.clock.advance(249);
  assert.deepEqual(h.offline, [false, true]);
  assert.equal(h.server.to("/events").length, 1, "reconnected before the backoff");
  await h.clock.advance(1);
  const second = h.server.open("/events");
  assert.deepEqual(second.pages(), { A: 6, B: 10 }, "resumes after the last event of each page");
  const s2 = second.stream();
  s2.hello();
  s2.event("B", 11, UPDATE(11));
  s2.event("A", 7, UPDATE(7));
  await h.clock.advance(0);
  assert.deepEqual(h.ids(), ["A:5", "B:10", "A:6", "B:11", "A:7"]);
  assert.deepEqual(h.offline, [false, true, false]);
});

test("a stream the server ends cleanly is reopened at once, after its last events", async () => {
  const h = harness();
  h.feed.set("A", 0);
  await h.clock.advance(20);
  const s = h.server.open("/events").stream();
  s.hello();
  s.event("A", 1, UPDATE(1));
  s.end();  // the server stops, or max_stream_s passed
  await h.clock.advance(0);  // no time passes
  assert.deepEqual(h.server.open("/events").pages(), { A: 1 });
  assert.deepEqual(h.offline, [false], "a clean end is not offline");
});

test("failures back off 0.25 s doubling up to 10 s; a stream that got through starts again from 0.25 s", async () => {
  const h = harness();
  h.feed.set("A", 0);
  await h.clock.advance(20);
  const waits = [];
  for (let i = 0; i < 8; i++) {
    h.server.open("/events").fail();
    const before = h.clock.now();
    for (let step = 0; h.server.to("/events").every((r) => r.answered); step++) {
      assert.ok(step < 20000, "no reconnection");
      await h.clock.advance(10);
    }
    waits.push(h.clock.now() - before);
  }
  assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
  const s = h.server.open("/events").stream();
  s.hello();
  s.end();  // it got through, then the server ended it: reconnect at once…
  await h.clock.advance(0);
  h.server.open("/events").fail();  // …and a failure after that waits 0.25 s again
  await h.clock.advance(249);
  assert.ok(h.server.to("/events").every((r) => r.answered));
  await h.clock.advance(1);
  assert.equal(h.server.to("/events").filter((r) => !r.answered).length, 1);
});

test("a stream held back by a buffering proxy (no hello within probe_s) falls back to long-poll, for 30 minutes", async () => {
  const storage = new FakeStorage();
  const h = harness({}, storage);
  h.feed.set("A", 2);
  await h.clock.advance(20);
  const held = h.server.open("/events");
  const s = held.stream();
  s.write(": only what a proxy lets through, no hello\r\n");  // bytes before hello do not count
  await h.clock.advance(2999);
  assert.equal(held.aborted, false);
  assert.equal(h.choice.current(), "sse");
  await h.clock.advance(1);
  assert.equal(held.aborted, true, "the stream is given up at probe_s");
  assert.equal(h.choice.current(), "poll");
  const saved = JSON.parse(storage.getItem("htag-sse-transport:/_htag"));
  assert.deepEqual(saved, { mode: "poll", until: h.clock.now() + 30 * 60000 });

  await h.clock.advance(250);  // then a long-poll, after the backoff
  const poll = h.server.open("/poll");
  assert.deepEqual(poll.pages(), { A: 2 });
  poll.reply(200, { pages: { A: [[3, UPDATE(3)], [4, UPDATE(4)]] }, gone: [] });
  await h.clock.advance(0);
  assert.deepEqual(h.ids(), ["A:3", "A:4"]);
  assert.deepEqual(h.server.open("/poll").pages(), { A: 4 }, "the next poll leaves at once, after the last event");
  assert.equal(h.server.to("/events").length, 1, "no stream is tried again");

  // another tab (same storage) starts with long-poll directly, until the 30 minutes are over
  const other = harness({}, storage);
  other.clock.t = h.clock.now();
  assert.equal(other.choice.current(), "poll");
  other.clock.t += 30 * 60000 + 1;
  assert.equal(other.choice.current(), "sse");
});

test("a stream that stalls after hello (no byte for 2 x heartbeat_s + 5 s) falls back to long-poll", async () => {
  const h = harness();
  h.feed.set("A", 0);
  await h.clock.advance(20);
  const stream = h.server.open("/events");
  const s = stream.stream();
  s.hello();
  await h.clock.advance(54999);
  assert.equal(stream.aborted, false);
  await h.clock.advance(1);
  assert.equal(stream.aborted, true);
  assert.equal(h.choice.current(), "poll");
  await h.clock.advance(250);
  assert.deepEqual(h.server.open("/poll").pages(), { A: 0 });
});

test("heartbeats keep a quiet stream on SSE; without a hello a configured \"sse\" never falls back", async () => {
  const h = harness();
  h.feed.set("A", 0);
  await h.clock.advance(20);
  const stream = h.server.open("/events");
  const s = stream.stream();
  s.hello();
  for (let i = 0; i < 20; i++) {  // 10 minutes of heartbeats only
    await h.clock.advance(30000);
    s.heartbeat();
  }
  await h.clock.advance(0);
  assert.equal(stream.aborted, false);
  assert.equal(h.server.requests.length, 1);
  assert.equal(h.choice.current(), "sse");

  const fixed = harness({ transport: "sse" });
  fixed.feed.set("A", 0);
  await fixed.clock.advance(20);
  fixed.server.open("/events").stream();  // held: never a hello
  await fixed.clock.advance(3000);
  assert.equal(fixed.choice.current(), "sse");
  await fixed.clock.advance(250);
  assert.equal(fixed.server.open("/events").path, "/_htag/events", "tries the stream again");
});

test("a page the server no longer has is reported gone and no longer followed", async () => {
  const h = harness();
  h.feed.set("A", 3);
  h.feed.set("B", 1);
  await h.clock.advance(20);
  const s = h.server.open("/events").stream();
  s.hello();
  s.gone("A");
  s.event("A", 4, UPDATE(4));  // nothing more for A is delivered
  s.event("B", 2, UPDATE(2));
  await h.clock.advance(0);
  assert.deepEqual(h.gone, ["A"]);
  assert.deepEqual(h.ids(), ["B:2"]);
  s.cut();
  await h.clock.advance(250);  // the next connection follows B only
  assert.deepEqual(h.server.open("/events").pages(), { B: 2 });
});

test("stop() closes the connection and nothing reconnects", async () => {
  const h = harness();
  h.feed.set("A", 0);
  await h.clock.advance(20);
  const stream = h.server.open("/events");
  stream.stream().hello();
  await h.clock.advance(0);
  h.feed.stop();
  await h.clock.advance(60000);
  assert.equal(stream.aborted, true);
  assert.equal(h.server.requests.length, 1);
});
