// Conformance of Weft's xorb and shard codecs with the official JS client, @huggingface/hub.
//
// The client's xorb and shard builders (createXorbs, uploadShards) are internal to its bundle,
// so they are driven through its public commit() with a fake `fetch` standing in for the Hub and
// the CAS: every xorb and shard the client uploads is captured byte for byte. Weft's codecs run
// through tests/helpers/xet_formats_helper.c. Checked here:
//  - Weft verifies each captured xorb (chunk headers, LZ4/BG4 payloads, chunk and xorb hashes),
//    rebuilds its footer, and the files reassembled from the shard's terms equal the inputs;
//  - Weft parses the captured shard: file hashes equal @huggingface/xetchunk-wasm's, verification
//    entries and SHA-256 agree, and re-serialized without footer it is byte-identical;
//  - for the same chunks Weft writes the same xorb bytes where the client's output does not depend
//    on its LZ4 encoder (chunks stored raw); where it does, the xorb hash is still the same;
//  - the client's own reader (XetBlob) downloads a file from a Weft-built xorb with LZ4 and BG4
//    chunks, and the client's dedup path accepts a Weft-built global-dedup shard (HMAC, footer).
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { commit, __internal_XetBlob as XetBlob } from "@huggingface/hub";
import { getChunks, hashToHex, fileHash } from "@huggingface/xetchunk-wasm";
import { tmpDir, randomBytes, fastRandomBytes } from "./lib/env.mjs";

const HELPER = path.join(process.env.WEFT_BUILD ?? "", "xet_formats_helper");
const dir = tmpDir("weft-xet-formats-");
const KiB = 1024;

function helper(args) {
  const r = spawnSync(HELPER, args, { maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  const out = JSON.parse(r.stdout.toString());
  return { status: r.status, ...out };
}

function tmpFile(name, bytes) {
  const p = path.join(dir, name);
  if (bytes) fs.writeFileSync(p, bytes);
  return p;
}

// Text-like data (LZ4 shrinks it).
function textLike(n, seed) {
  const words = ["weight", "tensor", "the", "hub", "xorb", "shard", "of", "chunk", "\n"];
  const rnd = randomBytes(n, seed);
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[rnd[i % n] % words.length] + " ";
  return new TextEncoder().encode(s.slice(0, n));
}

// Little-endian float32 weights around zero: byte grouping helps (BG4-LZ4 beats LZ4).
function floatLike(n, seed) {
  const rnd = randomBytes(n, seed);
  const f = new Float32Array(Math.floor(n / 4));
  for (let i = 0; i < f.length; i++) f[i] = ((rnd[i] - 128) / 4096) * (1 + (rnd[(i * 7) % n] & 3));
  const out = new Uint8Array(n);
  out.set(new Uint8Array(f.buffer));
  return out;
}

// Runs the JS client's commit() against a fake Hub + CAS; returns what it uploaded.
async function uploadWithJsClient(files, { dedupShard } = {}) {
  const captured = { xorbs: [], shards: [], dedupQueries: 0 };
  const json = (o) => new Response(JSON.stringify(o), { headers: { "Content-Type": "application/json" } });
  async function fakeFetch(url, init = {}) {
    url = String(url);
    if (url.includes("/preupload/")) {
      const req = JSON.parse(init.body);
      return json({ files: req.files.map((f) => ({ path: f.path, uploadMode: "lfs" })) });
    }
    if (url.endsWith("/objects/batch")) {
      const req = JSON.parse(init.body);
      const header = {
        "X-Xet-Cas-Url": "http://cas.test", "X-Xet-Access-Token": "token", "X-Xet-Session-Id": "s",
        "X-Xet-Token-Expiration": String(Math.floor(Date.now() / 1000) + 3600),
      };
      return json({
        transfer: "xet",
        objects: req.objects.map((o) => ({ oid: o.oid, size: o.size,
          actions: { upload: { href: "http://hub.test/api/models/a/b/xet-write-token/main", header } } })),
      });
    }
    if (url.includes("/v1/chunks/")) {
      captured.dedupQueries++;
      if (dedupShard) return new Response(dedupShard, { status: 200 });
      return new Response("", { status: 404 });
    }
    const bytes = async () => new Uint8Array(await new Response(init.body).arrayBuffer());
    if (url.includes("/v1/xorbs/")) {
      captured.xorbs.push({ hash: url.split("/").pop(), bytes: await bytes() });
      return json({ was_inserted: true });
    }
    if (url.endsWith("/v1/shards")) {
      captured.shards.push(await bytes());
      return json({ result: 1 });
    }
    if (url.includes("/commit/")) return json({ commitOid: "0".repeat(40), commitUrl: "http://hub.test/c" });
    return new Response(`unexpected request ${url}`, { status: 500 });
  }
  await commit({
    repo: "a/b", credentials: { accessToken: "hf_test" }, hubUrl: "http://hub.test", fetch: fakeFetch,
    title: "upload", useXet: true,
    operations: files.map((f) => ({ operation: "addOrUpdate", path: f.path, content: new Blob([f.data]) })),
  });
  return captured;
}

const skip = !fs.existsSync(HELPER) && "xet_formats_helper is not built";

const inputs = [
  { path: "random.bin", data: randomBytes(300 * KiB, 1) },
  { path: "text.txt", data: textLike(1200 * KiB, 2) },
  { path: "weights.bin", data: floatLike(900 * KiB, 3) },
  { path: "zeros.bin", data: new Uint8Array(200 * KiB) },
  { path: "tiny.txt", data: new TextEncoder().encode("hello weft\n") },
];

test("Weft verifies the JS client's xorbs and shard and reassembles every file", { skip }, async () => {
  const up = await uploadWithJsClient(inputs);
  assert.ok(up.xorbs.length >= 1, "the client uploaded xorbs");
  assert.equal(up.shards.length, 1, "the client uploaded one shard");

  // Xorbs: verified against the hash in the upload URL; unpacked bytes kept by xorb hash.
  const raw = new Map();
  const schemes = new Set();
  for (const [i, x] of up.xorbs.entries()) {
    const file = tmpFile(`js-${i}.xorb`, x.bytes);
    const out = helper(["xorb-parse", file, x.hash, tmpFile(`js-${i}.raw`)]);
    assert.equal(out.status, 0, `xorb ${x.hash}: ${out.message}`);
    assert.equal(out.hash, x.hash);
    for (const c of out.chunks) {
      schemes.add(c.scheme);
      assert.ok(c.tail_ok, "footer read back from the tail matches");
    }
    assert.equal(out.footer_len, 96 + 40 * out.chunks.length);
    raw.set(x.hash, { bytes: fs.readFileSync(tmpFile(`js-${i}.raw`)), chunks: out.chunks });
  }
  // The inputs make the client use all three schemes, so all three decoders were exercised.
  assert.deepEqual([...schemes].sort(), [0, 1, 2], "chunk schemes seen in the client's xorbs");

  // Shard: parsed, upload rules pass, hashes agree with the reference chunker.
  const shardFile = tmpFile("js.shard", up.shards[0]);
  const s = helper(["shard-parse", shardFile, tmpFile("weft.shard")]);
  assert.equal(s.status, 0, s.message);
  assert.equal(s.has_footer, true, "the JS client uploads its shard with a footer");
  assert.equal(s.files.length, inputs.length);
  for (const x of s.xorbs) {
    const r = raw.get(x.hash);
    assert.ok(r, `shard lists uploaded xorb ${x.hash}`);
    assert.deepEqual(x.chunks.map((c) => c.hash), r.chunks.map((c) => c.hash));
    assert.equal(x.stored_len, up.xorbs.find((u) => u.hash === x.hash).bytes.length);
  }
  for (const input of inputs) {
    const want = hashToHex(fileHash(getChunks(input.data)));
    const f = s.files.find((e) => e.hash === want);
    assert.ok(f, `${input.path}: the shard has its file hash ${want}`);
    assert.equal(f.computed_hash, want, `${input.path}: file hash recomputed from the shard`);
    assert.ok(f.verification_ok, `${input.path}: verification entries`);
    assert.equal(f.sha256, crypto.createHash("sha256").update(input.data).digest("hex"),
      `${input.path}: SHA-256 metadata extension`);
    // Reassemble from the terms and the unpacked xorbs.
    const parts = f.terms.map((t) => {
      const x = s.xorbs.find((e) => e.hash === t.xorb);
      const start = x.chunks[t.start].raw_off;
      const end = x.chunks[t.end - 1].raw_off + x.chunks[t.end - 1].raw_len;
      assert.equal(end - start, t.raw_len);
      return raw.get(t.xorb).bytes.subarray(start, end);
    });
    assert.ok(Buffer.concat(parts).equals(Buffer.from(input.data)), `${input.path}: reassembled bytes`);
  }

  // Re-serialized without footer: the JS bytes minus its footer, header footer size 0.
  const js = Buffer.from(up.shards[0]);
  const expected = Buffer.from(js.subarray(0, js.length - 200));
  expected.writeBigUInt64LE(0n, 40);
  assert.ok(fs.readFileSync(tmpFile("weft.shard")).equals(expected), "shard bytes identical");
});

test("Weft writes the client's xorb bytes where the client's output is encoder-independent", { skip }, async () => {
  // Incompressible chunks are stored raw by both: the xorbs must be byte-identical.
  const data = fastRandomBytes(700 * KiB + 5, 4);
  const up = await uploadWithJsClient([{ path: "r.bin", data }]);
  assert.equal(up.xorbs.length, 1);
  const js = up.xorbs[0];
  const lengths = getChunks(data).map((c) => c.length).join(",");
  const rawFile = tmpFile("r.bin", data);
  for (const scheme of ["auto", "none", "lz4", "bg4-lz4"]) {
    const out = helper(["xorb-build", scheme, rawFile, lengths, tmpFile(`r-${scheme}.xorb`)]);
    assert.equal(out.status, 0, out.message);
    assert.equal(out.hash, js.hash, `${scheme}: xorb hash`);
    assert.ok(fs.readFileSync(tmpFile(`r-${scheme}.xorb`)).equals(Buffer.from(js.bytes)),
      `${scheme}: xorb bytes identical to the JS client's`);
  }
  // Compressible chunks: the LZ4 encoders differ (liblz4 here, lz4js there, lz4_flex in xet-core),
  // so only the hash and the unpacked bytes are comparable.
  const text = textLike(400 * KiB, 5);
  const up2 = await uploadWithJsClient([{ path: "t.txt", data: text }]);
  const out = helper(["xorb-build", "auto", tmpFile("t.txt", text),
    getChunks(text).map((c) => c.length).join(","), tmpFile("t.xorb")]);
  assert.equal(out.hash, up2.xorbs[0].hash, "same xorb hash for compressible chunks");
});

test("the JS client reads a Weft-built xorb (LZ4 and BG4 chunks) and accepts Weft's dedup shard", { skip }, async () => {
  const data = new Uint8Array([...textLike(300 * KiB, 6), ...floatLike(300 * KiB, 7)]);
  const chunks = getChunks(data);
  const fileHex = hashToHex(fileHash(chunks));
  const built = {};
  for (const scheme of ["lz4", "bg4-lz4"]) {
    const out = helper(["xorb-build", scheme, tmpFile("d.bin", data), chunks.map((c) => c.length).join(","),
      tmpFile(`d-${scheme}.xorb`)]);
    assert.equal(out.status, 0, out.message);
    built[scheme] = { hash: out.hash, bytes: fs.readFileSync(tmpFile(`d-${scheme}.xorb`)) };
    const parsed = helper(["xorb-parse", tmpFile(`d-${scheme}.xorb`), out.hash, tmpFile(`d-${scheme}.raw`)]);
    assert.ok(parsed.chunks.some((c) => c.scheme === (scheme === "lz4" ? 1 : 2)), `${scheme} chunks present`);

    // XetBlob downloads through the reconstruction API we fake around the Weft xorb.
    const x = built[scheme];
    const fakeFetch = async (url, init = {}) => {
      url = String(url);
      if (url.includes("/v2/reconstructions/")) {
        return new Response(JSON.stringify({
          offset_into_first_range: 0,
          terms: [{ hash: x.hash, unpacked_length: data.length, range: { start: 0, end: chunks.length } }],
          xorbs: { [x.hash]: [{ url: "http://cas.test/xorb", ranges: [{
            chunks: { start: 0, end: chunks.length }, bytes: { start: 0, end: x.bytes.length - 1 } }] }] },
        }), { headers: { "Content-Type": "application/json" } });
      }
      if (url === "http://cas.test/xorb") {
        const m = /bytes=(\d+)-(\d+)/.exec(new Headers(init.headers).get("Range"));
        const body = x.bytes.subarray(Number(m[1]), Number(m[2]) + 1);
        return new Response(body, { status: 206, headers: {
          "Content-Range": `bytes ${m[1]}-${m[2]}/${x.bytes.length}`, "Content-Length": String(body.length) } });
      }
      return new Response(`unexpected request ${url}`, { status: 500 });
    };
    const blob = new XetBlob({ fetch: fakeFetch, hash: fileHex, size: data.length, refreshUrl: "http://hub.test/t",
      accessToken: "hf_test", parallelDownloads: false,
      readToken: { accessToken: "t", casUrl: "http://cas.test", exp: Math.floor(Date.now() / 1000) + 3600 } });
    const got = new Uint8Array(await blob.arrayBuffer());
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), `${scheme}: XetBlob read back the file`);
  }

  // Global dedup: the CAS answers the client's chunk query with a Weft-built shard (footer, HMAC
  // key, keyed chunk hashes). The client must recognise the chunks and upload no new xorb for them.
  const dd = helper(["shard-dedup", tmpFile("d-lz4.xorb"), tmpFile("dedup.shard")]);
  assert.equal(dd.status, 0, dd.message);
  const up = await uploadWithJsClient([{ path: "again.bin", data }], { dedupShard: fs.readFileSync(tmpFile("dedup.shard")) });
  assert.ok(up.dedupQueries >= 1, "the client asked the CAS for dedup");
  assert.equal(up.xorbs.length, 0, "every chunk deduplicated against the Weft shard");
  const s = helper(["shard-parse", tmpFile("again.shard", up.shards[0]), tmpFile("again.out")]);
  assert.equal(s.status, 0, s.message);
  assert.deepEqual(s.files[0].terms.map((t) => t.xorb), [built.lz4.hash]);
});
