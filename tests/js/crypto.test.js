// base64url and the AES-GCM sealing of parano mode, as the browser client does them.
const test = require("node:test");
const assert = require("node:assert/strict");
const { b64, unb64, importKey, seal, openSealed } = require("./client.js");

// Sealed by the server's htag_sse.parano.Cipher under the key bytes 0..31.
const KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const FROM_SERVER_DOWN = "YSyHG_g_aBSDPgooSkyUWGRIjV3XpUx9p0v46k2CvCW95ccaVD8Va3Ub0P21DAxE7fCDts86zvGUlWFEjljWqfQsIwf8salcsGV9";
const FROM_SERVER_EVENT = "fU_cRGGeIQTGs8zk4UHTgoVnR2UChUHmlwk-khdatikjl_PWNbe2JdIUh24DpvO3uuAwMQ";

test("b64/unb64 round trip every length 0..70 and all byte values, url-safe and unpadded", () => {
  for (let n = 0; n <= 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) % 256);
    const text = b64(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(unb64(text), bytes);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(unb64(b64(all)), all);
  assert.equal(b64(Uint8Array.of(0xfb, 0xff)), "-_8");  // what needs the url-safe alphabet
});

test("b64 of a large buffer (1 MiB) does not overflow the stack and round trips", () => {
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => i % 251);
  assert.deepEqual(unb64(b64(big)), big);
});

test("b64 matches node's own base64url", () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 91) % 256);
  assert.equal(b64(bytes), Buffer.from(bytes).toString("base64url"));
});

test("seal then open gives the message back; another purpose or key is refused", async () => {
  const key = await importKey(KEY);
  const message = { n: 1, o: [{ id: 12, method: "__on_event__", args: ["onclick-13"], kargs: {}, event: { value: "é😀" } }] };
  const sealed = await seal(key, "htag-sse up", message);
  assert.deepEqual(await openSealed(key, "htag-sse up", sealed), message);
  await assert.rejects(openSealed(key, "htag-sse down", sealed));
  const other = await importKey(b64(new Uint8Array(32).fill(7)));
  await assert.rejects(openSealed(other, "htag-sse up", sealed));
  const tampered = sealed.slice(0, -2) + (sealed.endsWith("AA") ? "BB" : "AA");
  await assert.rejects(openSealed(key, "htag-sse up", tampered));
});

test("two seals of one message differ (a fresh nonce each time)", async () => {
  const key = await importKey(KEY);
  assert.notEqual(await seal(key, "htag-sse up", { n: 1 }), await seal(key, "htag-sse up", { n: 1 }));
});

test("messages sealed by the server's Python code open here", async () => {
  const key = await importKey(KEY);
  assert.deepEqual(await openSealed(key, "htag-sse down", FROM_SERVER_DOWN), { n: 3, a: { update: { 1: "<b>é€😀</b>" } } });
  assert.deepEqual(await openSealed(key, "htag-sse event", FROM_SERVER_EVENT), { i: 7, a: { post: "x" } });
});
