// The Hub of static/htag-sse.js: the tabs of a browser share one connection, held
// by a leader tab (Web Locks) that forwards each tab its events (BroadcastChannel).
// Under node: real Clients (one per tab) on a fake browser, server and clock.
const test = require("node:test");
const assert = require("node:assert/strict");
const { Client, Hub, TransportChoice } = require("./client.js");
const { FakeBrowser, FakeClock, FakePage, FakeServer, settings } = require("./fakes.js");

const UPDATE = (n) => ({ update: { 140: "<span id=\"140\">" + n + "</span>" } });
/** The numbers the page showed, in the order its updates were applied. */
const shown = (tab) => tab.page.applied.map((a) => Number(Object.values(a.update)[0].match(/>(\d+)</)[1]));

function world() {
  const clock = new FakeClock();
  const server = new FakeServer();
  const browser = new FakeBrowser();
  /** A tab showing `page`, its client started. */
  const open = async (page, last = 0) => {
    const tab = browser.tab();
    const env = {
      fetch: server.fetch, clock, storage: browser.storage, random: () => 0.5,
      BroadcastChannel: tab.BroadcastChannel, locks: tab.locks, page: new FakePage(),
    };
    const client = new Client(settings({ page, token: "t-" + page, last }), env);
    await client.start();
    await clock.advance(0);
    return { tab, client, page: env.page, close: () => { client.leave(); tab.close(); } };
  };
  /** The stream the leader holds (the one open /events request). */
  const stream = () => server.open("/events");
  return { clock, server, browser, open, stream };
}

test("one leader holds one stream for every tab's page and forwards each tab its events", async () => {
  const w = world();
  const a = await w.open("A"), b = await w.open("B", 5), c = await w.open("C");
  await w.clock.advance(20);
  assert.deepEqual([a.client.info().leader, b.client.info().leader, c.client.info().leader], [true, false, false]);
  const held = w.stream();
  assert.deepEqual(held.pages(), { A: 0, B: 5, C: 0 });
  const s = held.stream();
  s.hello();
  s.event("B", 6, UPDATE(6));
  s.event("A", 1, UPDATE(1));
  s.event("C", 1, UPDATE(1));
  s.event("B", 7, UPDATE(7));
  await w.clock.advance(0);
  assert.deepEqual([shown(a), shown(b), shown(c)], [[1], [6, 7], [1]]);
  assert.equal(w.server.to("/events").length, 1, "one connection for the three tabs");
  assert.deepEqual(b.client.info().offline, { push: false, requests: false });
});

test("when the leader tab closes the next one takes over, resuming every page after its last event", async () => {
  const w = world();
  const a = await w.open("A"), b = await w.open("B"), c = await w.open("C", 3);
  await w.clock.advance(20);
  const s = w.stream().stream();
  s.hello();
  s.event("B", 1, UPDATE(1));
  s.event("B", 2, UPDATE(2));
  s.event("C", 4, UPDATE(4));
  await w.clock.advance(0);

  a.close();  // pagehide: the leader stops its stream and releases its page; its lock goes with the tab
  await w.clock.advance(0);
  assert.equal(w.server.to("/events")[0].aborted, true);
  assert.equal(w.server.open("/release").path, "/_htag/A/release");
  assert.equal(b.client.info().leader, true, "the next tab in line leads");
  assert.equal(c.client.info().leader, false);
  await w.clock.advance(20);
  const resumed = w.stream();
  assert.deepEqual(resumed.pages(), { B: 2, C: 4 }, "the tabs said where they are: the handover loses nothing");
  const s2 = resumed.stream();
  s2.hello();
  s2.event("B", 2, UPDATE(2));  // sent again (a proxy, a server resending): not applied twice
  s2.event("B", 3, UPDATE(3));
  s2.event("C", 5, UPDATE(5));
  await w.clock.advance(0);
  assert.deepEqual(shown(b), [1, 2, 3]);
  assert.deepEqual(shown(c), [4, 5]);

  b.close();  // and again: C leads alone
  await w.clock.advance(20);
  assert.equal(c.client.info().leader, true);
  assert.deepEqual(w.stream().pages(), { C: 5 });
});

test("a follower that closes is no longer followed; a new tab joins the leader's stream", async () => {
  const w = world();
  const a = await w.open("A"), b = await w.open("B");
  await w.clock.advance(20);
  w.stream().stream().hello();
  b.close();
  await w.clock.advance(20);
  assert.deepEqual(w.stream().pages(), { A: 0 });
  w.stream().stream().hello();
  const c = await w.open("C", 2);
  await w.clock.advance(20);
  assert.deepEqual(w.stream().pages(), { A: 0, C: 2 });
  assert.equal(a.client.info().leader && !c.client.info().leader, true);
});

test("the leader's view of the connection reaches every tab (offline banner)", async () => {
  const w = world();
  const a = await w.open("A"), b = await w.open("B");
  await w.clock.advance(20);
  const s = w.stream().stream();
  s.hello();
  await w.clock.advance(0);
  assert.deepEqual([a.page.offlineShown, b.page.offlineShown], [false, false]);
  s.cut();
  await w.clock.advance(0);
  assert.deepEqual([a.page.offlineShown, b.page.offlineShown], [true, true]);
  await w.clock.advance(250);
  w.stream().stream().hello();
  await w.clock.advance(0);
  assert.deepEqual([a.page.offlineShown, b.page.offlineShown], [false, false]);
});

test("a follower's page the server lost is rerun by its own tab", async () => {
  const w = world();
  const a = await w.open("A"), b = await w.open("B");
  await w.clock.advance(20);
  const s = w.stream().stream();
  s.hello();
  s.gone("B");
  await w.clock.advance(0);
  const rerun = w.server.open("/rerun");
  assert.equal(rerun.path, "/_htag/B/rerun");
  assert.equal(rerun.headers["X-Htag-Token"], "t-B");
  rerun.reply(200, { page: "B2", token: "t-B2", last: 0, body: "<body></body>", post: "" });
  await w.clock.advance(20);
  assert.equal(b.client.info().page, "B2");
  assert.deepEqual(w.stream().pages(), { A: 0, B2: 0 }, "the leader follows the new page");
  assert.equal(a.client.info().page, "A");
});

test("without BroadcastChannel or Web Locks each tab holds its own connection", async () => {
  const clock = new FakeClock();
  const server = new FakeServer();
  const env = { fetch: server.fetch, clock, storage: null, random: () => 0.5, BroadcastChannel: null, locks: null };
  const cfg = settings();
  const got = [];
  const hub = new Hub(env, cfg, new TransportChoice(cfg, env), {
    where: () => ({ page: "A", last: 7 }), event: (p, i) => got.push(i), gone: () => {}, offline: () => {},
  });
  await clock.advance(20);
  assert.ok(hub.feed);
  const s = server.open("/events");
  assert.deepEqual(s.pages(), { A: 7 });
  const w = s.stream();
  w.hello();
  w.event("A", 8, UPDATE(8));
  await clock.advance(0);
  assert.deepEqual(got, [8]);
});
