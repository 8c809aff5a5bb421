// scriptTargets of static/htag-sse.js: which tags of an answer get new elements
// because their js runs again (htag's IIFEs in `post`).
const test = require("node:test");
const assert = require("node:assert/strict");
const { scriptTargets } = require("./client.js");

/** htag's Tag._genIIFEScript(js) for the tag of id `id`. */
const iife = (js, id) => `(function(self){ ${js}\n })(document.getElementById('${id}'));`;

test("the tags whose js runs again, not those that only declare exposed methods", () => {
  const post = [
    iife("self.collect = function(_) {try{ interact( {\"id\": 140, \"method\": \"collect\"} ); } catch(e) {_error(e,\"JS\")}}", "140"),
    iife("self.addEventListener('click', () => { window.n++ })", "141"),
    iife("self.focus();\nself.select()", "142"),
    iife("self.a = function(_) {1};self.b = function(_) {2}", "143"),
  ].join("\n");
  assert.deepEqual(Array.from(scriptTargets(post)), ["141", "142"]);
});

test("no post, or JS of another shape (self.call), names no tag", () => {
  assert.deepEqual(Array.from(scriptTargets(undefined)), []);
  assert.deepEqual(Array.from(scriptTargets("alert(document.getElementById('140').value)")), []);
});
