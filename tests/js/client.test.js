// The Client of static/htag-sse.js (one per tab): its interactions while the server
// cannot be reached, its events, a rerun. Under node, on a fake server and clock.
const test = require("node:test");
const assert = require("node:assert/strict");
const { Client } = require("./client.js");
const { FakeClock, FakePage, FakeServer, FakeStorage, settings } = require("./fakes.js");

const click = (n) => ({ id: 140, method: "__on_event__", args: ["onclick-140"], kargs: {}, event: { n } });
const answer = (n) => ({ update: { 141: "<span id=\"141\">" + n + "</span>" } });

function harness(overrides = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const page = new FakePage();
  const env = { fetch: server.fetch, clock, storage: new FakeStorage(), random: () => 0.5, BroadcastChannel: null, locks: null, page };
  const client = new Client(settings(overrides), env);
  return { clock, server, page, env, client };
}

test("the settings the server must send are all required", () => {
  const env = { page: new FakePage() };
  assert.throws(() => new Client(Object.assign(settings(), { probe_s: undefined }), env), /lack probe_s/);
  assert.throws(() => new Client(settings({ parano: true }), env), /lack key/);
});

test("interactions made while offline are sent in order, once back, each exactly once", async () => {
  const h = harness();
  const done = [h.client.interact(click(1))];
  await h.clock.advance(0);
  const posts = () => h.server.to("/interact");
  posts()[0].fail();  // the server cannot be reached
  await h.clock.advance(0);
  assert.equal(h.page.offlineShown, true, "the page shows offline");
  done.push(h.client.interact(click(2)), h.client.interact(click(3)));  // the user goes on meanwhile
  await h.clock.advance(250);
  h.server.open("/interact").reply(503, { error: "store_unavailable", message: "…" });  // the server restarts
  await h.clock.advance(500);
  h.server.open("/interact").fail();
  await h.clock.advance(1000);
  done.push(h.client.interact(click(4)));
  await h.clock.advance(0);
  h.server.open("/interact").reply(200, answer(1));  // back
  await h.clock.advance(0);
  assert.equal(h.page.offlineShown, false);
  const batch = h.server.open("/interact");
  batch.reply(200, [answer(2), answer(3), answer(4)]);
  await h.clock.advance(0);
  await Promise.all(done);

  // every attempt of the first POST is the same request: number 1, interaction 1
  const sent = posts().map((r) => [r.headers["X-Htag-Seq"], r.json()]);
  assert.deepEqual(sent, [
    ["1", click(1)], ["1", click(1)], ["1", click(1)], ["1", click(1)],
    ["2", [click(2), click(3), click(4)]],  // what queued meanwhile leaves in one POST, in order
  ]);
  assert.ok(posts().every((r) => r.method === "POST" && r.path === "/_htag/p1.a/interact" && r.headers["X-Htag-Token"] === "t1"));
  assert.deepEqual(h.page.applied, [answer(1), answer(2), answer(3), answer(4)]);
  assert.equal(h.client.info().seq, 4);
  assert.deepEqual(h.page.reports, []);
});

test("events are applied in order, each once: an event sent again is ignored", async () => {
  const h = harness({ last: 3 });
  h.client.onEvent("p1.a", 3, answer(3));  // already in the page it was rendered with
  h.client.onEvent("p1.a", 4, answer(4));
  h.client.onEvent("p1.a", 5, answer(5));
  h.client.onEvent("p1.a", 4, answer(4));
  h.client.onEvent("other.page", 6, answer(6));
  h.client.onEvent("p1.a", 6, answer(6));
  await h.clock.advance(0);
  assert.deepEqual(h.page.applied, [answer(4), answer(5), answer(6)]);
  assert.equal(h.client.info().last, 6);
  h.client.onEvent("p1.a", 2, { body: "<body>refresh</body>" });  // a full refresh is applied whatever its id
  await h.clock.advance(0);
  assert.deepEqual(h.page.applied.at(-1), { body: "<body>refresh</body>" });
});

test("a click sent to a page the server lost is replayed on the rerun page, with its tag ids rewritten", async () => {
  const h = harness();
  // the page's elements: the rerun morph gives them new ids
  const elements = [{ id: "140", isConnected: true }, { id: "999", isConnected: true }];
  h.page.tagged = () => elements.map((el) => [el.id, el]);
  h.page.morphBody = () => { elements[0].id = "240"; elements[1].isConnected = false; };
  h.page.hasHandler = (id, event, name) => id === "240" && event === "onclick" && name === "onclick-240";
  const done = Promise.all([h.client.interact(click(1)), h.client.interact(Object.assign(click(2), { id: 999 }))]);
  await h.clock.advance(0);
  h.server.open("/interact").reply(410, { error: "page_gone", message: "gone" });
  await h.clock.advance(0);
  const rerun = h.server.open("/rerun");
  assert.equal(rerun.path, "/_htag/p1.a/rerun");
  rerun.reply(200, { page: "p2.b", token: "t2", last: 0, body: "<body id=\"9\"></body>", post: "init()" });
  await h.clock.advance(0);
  const replay = h.server.open("/interact");
  assert.equal(replay.path, "/_htag/p2.b/interact");
  assert.equal(replay.headers["X-Htag-Token"], "t2");
  assert.equal(replay.headers["X-Htag-Seq"], "1");
  // the second click's element did not survive the rerun: dropped
  assert.deepEqual(replay.json(), { id: 240, method: "__on_event__", args: ["onclick-240"], kargs: {}, event: { n: 1 } });
  replay.reply(200, answer(1));
  await done;
  assert.deepEqual(h.page.applied, [{ post: "init()" }, answer(1)]);
  assert.deepEqual(h.client.info().renamed, { 140: "240" });
});

test("a refused POST frees the numbers nothing used; the next interaction goes on from there", async () => {
  const h = harness();
  const first = h.client.interact(click(1));
  await h.clock.advance(0);
  h.server.open("/interact").reply(403, { error: "bad_origin", message: "no" });
  await first;
  assert.deepEqual(h.page.reports, ["HTTP 403: no"]);
  const second = h.client.interact(click(2));
  await h.clock.advance(0);
  assert.equal(h.server.open("/interact").headers["X-Htag-Seq"], "1");
  h.server.open("/interact").reply(404, { error: "unknown_id", message: "removed" });
  await second;
  h.client.interact(click(3));
  await h.clock.advance(0);
  assert.equal(h.server.open("/interact").headers["X-Htag-Seq"], "2", "a 404 used its number");
});

test("F5: the reload cookie names the page; pagehide releases it", async () => {
  const h = harness({ cookie_path: "/app" });
  h.client.nameForReload();
  assert.deepEqual(h.page.cookies, ["htag_reload=p1.a~t1; path=/app; max-age=5; samesite=lax"]);
  h.page.secure = true;
  h.client.nameForReload();
  assert.match(h.page.cookies[1], /; secure$/);
  h.client.leave();  // no sendBeacon here: a keepalive POST
  await h.clock.advance(0);
  const release = h.server.open("/release");
  assert.equal(release.path, "/_htag/p1.a/release");
  assert.equal(release.init.keepalive, true);
});

test("transport none: a keep-alive every grace_s / 3, and a rerun when the page is gone", async () => {
  const h = harness({ transport: "none", grace_s: 30 });
  await h.client.start();
  await h.clock.advance(9999);
  assert.equal(h.server.requests.length, 0);
  await h.clock.advance(1);
  h.server.open("/alive").reply(204);
  await h.clock.advance(10000);
  h.server.open("/alive").reply(410, { error: "page_gone", message: "" });
  await h.clock.advance(0);
  assert.equal(h.server.open("/rerun").path, "/_htag/p1.a/rerun");
  assert.equal(h.client.info().transport, "none");
});

test("the server's news that the page ended waits for the answers in flight: the handler that ended it may send the browser elsewhere", async () => {
  const h = harness();
  const done = h.client.interact(click(1));
  await h.clock.advance(0);
  const post = h.server.open("/interact");
  h.client.ended("p1.a");  // the stream's news beats the click's answer
  await h.clock.advance(0);
  assert.deepEqual(h.server.to("/rerun"), [], "no rerun while the click's answer is awaited");
  const leave = { call: "location.href = '/bye'" };
  post.reply(200, leave);
  await done;
  assert.deepEqual(h.page.applied, [leave]);
  await h.clock.advance(0);
  h.server.open("/rerun").reply(410, { error: "page_gone", message: "gone and cannot be rerun" });
  await h.clock.advance(0);
  assert.equal(h.page.reloaded, true, "the page ended and could not be rerun: the app loads anew");
});

test("a page ended while the tab navigates away is not reloaded over that navigation", async () => {
  const h = harness();
  h.client.nameForReload();  // beforeunload: a link, a logout, location.href
  h.client.ended("p1.a");
  await h.clock.advance(0);
  h.server.open("/rerun").reply(410, { error: "page_gone", message: "gone and cannot be rerun" });
  await h.clock.advance(0);
  assert.equal(h.page.reloaded, false, "a reload now would cancel the navigation under way");
  await h.clock.advance(5000);  // still here: that navigation was called off
  assert.equal(h.page.reloaded, true);
});
