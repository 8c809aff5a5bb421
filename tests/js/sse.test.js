// The SSE parser of static/htag-sse.js: what the client reads from a stream.
const test = require("node:test");
const assert = require("node:assert/strict");
const { sseParser } = require("./client.js");

function parse(chunks) {
  const events = [];
  const push = sseParser((name, id, data) => events.push([name, id, data]));
  for (const chunk of chunks) push(chunk);
  return events;
}

const STREAM = "retry: 2000\n:" + "x".repeat(30) + "\nevent: hello\nid: 4\ndata: {}\n\n"
  + "event: p1.abc\nid: 5\ndata: {\"update\":{\"140\":\"<span>é€😀</span>\"}}\n\n"
  + ":\n\n"
  + "data: line one\ndata: line two\ndata\n\n"
  + "event: gone\ndata: {\"page\": \"p1.abc\"}\n\n";
const EXPECTED = [
  ["hello", "4", "{}"],
  ["p1.abc", "5", "{\"update\":{\"140\":\"<span>é€😀</span>\"}}"],
  ["message", null, "line one\nline two\n"],
  ["gone", null, "{\"page\": \"p1.abc\"}"],
];

test("a whole stream gives its events: names, ids, data", () => {
  assert.deepEqual(parse([STREAM]), EXPECTED);
});

test("the stream cut into two chunks anywhere (bytes, even inside a UTF-8 character) gives the same events", () => {
  const bytes = new TextEncoder().encode(STREAM);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.deepEqual(parse([bytes.slice(0, cut), bytes.slice(cut)]), EXPECTED, "cut at byte " + cut);
  }
});

test("the stream fed one byte at a time gives the same events", () => {
  const bytes = new TextEncoder().encode(STREAM);
  assert.deepEqual(parse(Array.from(bytes, (b) => Uint8Array.of(b))), EXPECTED);
});

test("CRLF and lone CR line ends, CRLF cut between its CR and LF", () => {
  const crlf = STREAM.replace(/\n/g, "\r\n");
  const cr = STREAM.replace(/\n/g, "\r");
  assert.deepEqual(parse([crlf]), EXPECTED);
  assert.deepEqual(parse([cr]), EXPECTED);
  for (let cut = 0; cut <= crlf.length; cut++) {
    assert.deepEqual(parse([crlf.slice(0, cut), crlf.slice(cut)]), EXPECTED, "cut at " + cut);
  }
});

test("comments (heartbeats) and unknown fields dispatch nothing", () => {
  assert.deepEqual(parse([":\n\n:hello\n\nretry: 5\n\nfoo: bar\n\n"]), []);
});

test("an event is dispatched only at its blank line; an unfinished one is not", () => {
  const events = [];
  const push = sseParser((name, id, data) => events.push(data));
  push("data: a\n");
  assert.deepEqual(events, []);
  push("\ndata: b");
  assert.deepEqual(events, ["a"]);
});

test("one leading space is stripped from values, no more; a field without colon has an empty value", () => {
  assert.deepEqual(parse(["data:  two spaces\nid:7\n\n", "data\n\n"]), [["message", "7", " two spaces"], ["message", null, ""]]);
});

test("an id holding NUL is ignored; every event carries only its own id", () => {
  assert.deepEqual(parse(["id: 1\0\ndata: a\n\ndata: b\n\n"]), [["message", null, "a"], ["message", null, "b"]]);
});

test("a byte order mark at the very start is skipped", () => {
  assert.deepEqual(parse(["\uFEFFdata: a\n\n"]), [["message", null, "a"]]);
  assert.deepEqual(parse([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf, 0x64), new TextEncoder().encode("ata: a\n\n")]),
    [["message", null, "a"]]);
});

test("a large event arriving in many chunks is assembled whole", () => {
  const big = "x".repeat(300000);
  const text = "id: 9\ndata: " + big + "\n\n";
  const chunks = [];
  for (let i = 0; i < text.length; i += 1000) chunks.push(text.slice(i, i + 1000));
  assert.deepEqual(parse(chunks), [["message", "9", big]]);
});
