// Interactions queued for a page that was rerun since: only their ids are rewritten.
const test = require("node:test");
const assert = require("node:assert/strict");
const { replayFor, renamedAfter } = require("./client.js");

const el = (id, isConnected = true) => ({ id, isConnected });
const always = () => true;

test("an event handler's interaction: o.id and the handler's tag id change, the user's value does not", () => {
  const renamed = new Map([["140213", "990001"], ["140377", "990002"]]);
  const o = { id: 140213, method: "__on_event__", args: ["onclick-140377", "140213"], kargs: { k: "140377" },
    event: { value: "typed 140213 and 140377" } };
  const seen = [];
  const again = replayFor(o, renamed, (...a) => { seen.push(a); return true; });
  assert.deepEqual(again, { id: 990001, method: "__on_event__", args: ["onclick-990002", "140213"], kargs: { k: "140377" },
    event: { value: "typed 140213 and 140377" } });
  assert.deepEqual(seen, [["990002", "onclick", "onclick-990002"]]);
  assert.equal(o.id, 140213, "the original is left alone");
  assert.deepEqual(o.args, ["onclick-140377", "140213"]);
});

test("__on__ is rewritten the same way; an exposed method only in o.id", () => {
  const renamed = new Map([["1", "5"], ["2", "6"]]);
  assert.deepEqual(replayFor({ id: 1, method: "__on__", args: ["onchange-2"], kargs: {} }, renamed, always).args, ["onchange-6"]);
  assert.deepEqual(replayFor({ id: 1, method: "plus", args: ["2"], kargs: {} }, renamed, always),
    { id: 5, method: "plus", args: ["2"], kargs: {} });
});

test("dropped when its tag, its handler's tag or the handler itself is gone", () => {
  const renamed = new Map([["1", "5"]]);
  assert.equal(replayFor({ id: 3, method: "plus", args: [] }, renamed, always), null);
  assert.equal(replayFor({ id: 1, method: "__on_event__", args: ["onclick-2"] }, renamed, always), null);
  assert.equal(replayFor({ id: 1, method: "__on_event__", args: ["onclick-1"] }, renamed, () => false), null);
  assert.equal(replayFor({ id: 1, method: "__on_event__", args: ["noid"] }, renamed, always), null);
  assert.equal(replayFor({ id: 77, method: null, args: [] }, renamed, always), null, "a generator does not survive a rerun");
});

test("renamedAfter maps the ids of the elements the morph kept, and chains older reruns", () => {
  const kept = el("200"), kept2 = el("201"), dropped = el("102", false), same = el("103");
  const first = renamedAfter([["100", kept], ["101", kept2], ["102", dropped], ["103", same]], new Map());
  assert.deepEqual(Object.fromEntries(first), { 100: "200", 101: "201", 103: "103" });
  const second = renamedAfter([["200", el("300")], ["103", el("303")]], first);
  assert.deepEqual(Object.fromEntries(second), { 200: "300", 103: "303", 100: "300" });
  assert.equal(second.has("101"), false, "201 did not survive the second rerun");
});

test("an interaction queued two reruns ago replays on the newest page", () => {
  const first = renamedAfter([["10", el("20")], ["11", el("21")]], new Map());
  const second = renamedAfter([["20", el("30")], ["21", el("31")]], first);
  const o = { id: 10, method: "__on_event__", args: ["onclick-11"], kargs: {}, event: {} };
  assert.deepEqual(replayFor(o, second, always).args, ["onclick-31"]);
  assert.equal(replayFor(o, second, always).id, 30);
});
