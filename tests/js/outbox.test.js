// Batches: what the client sends while a POST is in flight.
const test = require("node:test");
const assert = require("node:assert/strict");
const { Outbox, MAX_BATCH, payloadOf, outcomesOf, isRefusal, backoff } = require("./client.js");

/** An Outbox whose POSTs are answered when the test says so. */
function harness() {
  const sent = [];
  const busy = [];
  let answer = null;
  const box = new Outbox((items) => {
    sent.push(items);
    return new Promise((resolve) => { answer = resolve; });
  }, (on) => busy.push(on));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { box, sent, busy, answer: async () => { answer(); await settle(); }, settle };
}

test("interactions queued by one script run leave together, in order", async () => {
  const h = harness();
  for (let i = 1; i <= 22; i++) h.box.add(i);
  await h.settle();
  assert.deepEqual(h.sent, [Array.from({ length: 22 }, (_, i) => i + 1)]);
});

test("while a POST is in flight the next ones queue, then leave in ONE POST", async () => {
  const h = harness();
  h.box.add("a");
  await h.settle();
  h.box.add("b");
  h.box.add("c");
  await h.settle();
  h.box.add("d");
  assert.deepEqual(h.sent, [["a"]]);
  await h.answer();
  assert.deepEqual(h.sent, [["a"], ["b", "c", "d"]]);
  await h.answer();
  assert.equal(h.sent.length, 2);
});

test("at most MAX_BATCH (64) per POST; the rest follows", async () => {
  const h = harness();
  for (let i = 0; i < 150; i++) h.box.add(i);
  await h.settle();
  await h.answer();
  await h.answer();
  assert.deepEqual(h.sent.map((b) => b.length), [64, 64, 22]);
  assert.deepEqual(h.sent.flat(), Array.from({ length: 150 }, (_, i) => i));
  assert.equal(MAX_BATCH, 64);
});

test("busy while something is in flight; add() resolves once its batch is answered", async () => {
  const h = harness();
  let done = false;
  h.box.add("a").then(() => { done = true; });
  assert.equal(h.box.sending, true);
  await h.settle();
  assert.equal(done, false);
  await h.answer();
  assert.equal(done, true);
  assert.equal(h.box.sending, false);
  assert.deepEqual(h.busy, [true, false]);
});

test("a failed batch does not stop the next ones", async () => {
  const sent = [];
  const box = new Outbox(async (items) => {
    sent.push(items);
    if (items[0] === "bad") throw new Error("boom");
  }, () => {});
  const quiet = console.error;
  console.error = () => {};
  try {
    await Promise.all([box.add("bad"), box.add("bad2")]);
    await box.add("good");
  } finally {
    console.error = quiet;
  }
  assert.deepEqual(sent, [["bad", "bad2"], ["good"]]);
});

test("a single interaction is sent as itself, several as an array", () => {
  assert.deepEqual(payloadOf([{ id: 1 }]), { id: 1 });
  assert.deepEqual(payloadOf([{ id: 1 }, { id: 2 }]), [{ id: 1 }, { id: 2 }]);
});

test("answers: one outcome per interaction; a batch answer of the wrong size is an error", () => {
  assert.deepEqual(outcomesOf({ update: {} }, 1), [{ update: {} }]);
  assert.deepEqual(outcomesOf([{}, { post: "x" }], 2), [{}, { post: "x" }]);
  assert.throws(() => outcomesOf([{}], 2));
  assert.throws(() => outcomesOf({ update: {} }, 2));
});

test("a refusal entry is told from htag's actions", () => {
  assert.equal(isRefusal({ error: "unknown_id", message: "gone", status: 404 }), true);
  assert.equal(isRefusal({ update: { 1: "<b></b>" }, post: "" }), false);
  assert.equal(isRefusal({ err: "ValueError" }), false);
  assert.equal(isRefusal(null), false);
});

test("backoff doubles from 0.25 s to at most 10 s, jittered by 25%", () => {
  assert.equal(backoff(0, () => 0.5), 250);
  assert.equal(backoff(3, () => 0.5), 2000);
  assert.equal(backoff(40, () => 0.5), 10000);
  assert.equal(backoff(0, () => 0), 187.5);
  assert.equal(backoff(0, () => 1), 312.5);
});
