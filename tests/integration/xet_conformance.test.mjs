// Conformance of Weft's chunker and Xet hashes against the reference implementation,
// @huggingface/xetchunk-wasm (the npm package Hugging Face publishes, matching xet-core):
// identical chunk boundaries, chunk hashes, xorb hash and file hash on every input.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createChunker, nextBlock, finalize, getChunks, hashToHex, xorbHash, fileHash }
  from "@huggingface/xetchunk-wasm";
import { tmpDir, randomBytes, fastRandomBytes, runWeft, runWeftWithInput, SHARED_DATA, SANITIZE }
  from "./lib/env.mjs";

const KiB = 1024, MiB = 1024 * 1024;
const dir = tmpDir("weft-xet-conf-");

function reference(data) {
  const chunks = getChunks(data);
  return {
    chunks: chunks.map((c) => ({ hash: hashToHex(c.hash), length: c.length })),
    xorb_hash: hashToHex(xorbHash(chunks)),
    file_hash: hashToHex(fileHash(chunks)),
  };
}

function periodic(n, pattern) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = pattern[i % pattern.length];
  return out;
}

// Text-like data: words from a small vocabulary, deterministic.
function textLike(n, seed) {
  const words = ["the", "model", "weights", "chunk", "hub", "tensor", "of", "a", "and", "xet",
    "storage", "deduplication", "is", "fast", "\n"];
  const rnd = randomBytes(n, seed);
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[rnd[i % n] % words.length] + " ";
  return new TextEncoder().encode(s.slice(0, n));
}

function compare(name, data, weftOut) {
  const ref = reference(data);
  const got = JSON.parse(weftOut);
  assert.equal(got.size, data.length, `${name}: size`);
  assert.equal(got.chunks.length, ref.chunks.length, `${name}: number of chunks`);
  for (let i = 0; i < ref.chunks.length; i++) {
    assert.equal(got.chunks[i].length, ref.chunks[i].length, `${name}: chunk ${i} length`);
    assert.equal(got.chunks[i].hash, ref.chunks[i].hash, `${name}: chunk ${i} hash`);
  }
  assert.equal(got.xorb_hash, ref.xorb_hash, `${name}: xorb hash`);
  assert.equal(got.file_hash, ref.file_hash, `${name}: file hash`);
  return ref.chunks.length;
}

const inputs = [
  ["empty", () => new Uint8Array(0)],
  ["one byte", () => new Uint8Array([0x42])],
  ["8 KiB - 1", () => randomBytes(8 * KiB - 1, 1)],
  ["8 KiB", () => randomBytes(8 * KiB, 2)],
  ["8 KiB + 1", () => randomBytes(8 * KiB + 1, 3)],
  ["128 KiB - 1", () => randomBytes(128 * KiB - 1, 4)],
  ["128 KiB", () => randomBytes(128 * KiB, 5)],
  ["128 KiB + 1", () => randomBytes(128 * KiB + 1, 6)],
  ["all zero 3 MiB", () => new Uint8Array(3 * MiB)],
  ["all 0xff 1 MiB", () => new Uint8Array(MiB).fill(0xff)],
  ["period 2", () => periodic(2 * MiB, [1, 2])],
  ["period 3", () => periodic(2 * MiB, [7, 0, 200])],
  ["period 64", () => periodic(2 * MiB, randomBytes(64, 7))],
  ["period 4099", () => periodic(3 * MiB, randomBytes(4099, 8))],
  ["period 100000", () => periodic(3 * MiB, randomBytes(100000, 9))],
  ["random 1 MiB", () => randomBytes(MiB, 10)],
  ["random 7 MiB + 13", () => fastRandomBytes(7 * MiB + 13, 11)],
  ["text 2 MiB", () => textLike(2 * MiB, 12)],
  ["random then zeros", () => { const d = fastRandomBytes(3 * MiB, 13); d.fill(0, MiB, 2 * MiB); return d; }],
  ["sparse ones", () => { const d = new Uint8Array(2 * MiB); for (let i = 0; i < d.length; i += 997) d[i] = 1; return d; }],
];

for (const [name, make] of inputs) {
  test(`chunks and hashes equal the reference: ${name}`, () => {
    const data = make();
    const file = path.join(dir, name.replace(/\W+/g, "_"));
    fs.writeFileSync(file, data);
    const r = runWeft(["xet", "chunks", "--json", file]);
    assert.equal(r.status, 0, r.stderr);
    compare(name, data, r.stdout);
  });
}

test("safetensors files from ../shared/data equal the reference", (t) => {
  if (!SHARED_DATA || !fs.existsSync(SHARED_DATA)) {
    t.skip(`shared data not found at ${SHARED_DATA}: this test needs ../shared/data`);
    return;
  }
  const found = [];
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".safetensors") || e.name.endsWith(".gguf")) found.push(p);
    }
  })(SHARED_DATA);
  assert.ok(found.length >= 4, `expected safetensors files in ${SHARED_DATA}`);
  for (const file of found) {
    const data = new Uint8Array(fs.readFileSync(file));
    const r = runWeft(["xet", "chunks", "--json", file]);
    assert.equal(r.status, 0, r.stderr);
    compare(path.relative(SHARED_DATA, file), data, r.stdout);
  }
});

test("a 100 MiB+ input fed in odd-sized pieces equals the reference fed differently", async () => {
  const n = (SANITIZE ? 40 : 100) * MiB + 12345;
  const data = fastRandomBytes(n, 77);
  // Zero a few stretches so forced 128 KiB cuts and data-defined cuts both occur.
  data.fill(0, 10 * MiB, 10 * MiB + 700 * KiB);
  // The reference, streamed in pieces of 1,000,003 bytes.
  const chunker = createChunker();
  const refChunks = [];
  for (let o = 0; o < n; o += 1000003) refChunks.push(...nextBlock(chunker, data.subarray(o, Math.min(n, o + 1000003))));
  const last = finalize(chunker);
  if (last) refChunks.push(last);
  // Weft, through a pipe written in odd-sized pieces (7, 65537, 131071, 3, ... bytes).
  const sizes = [7, 65537, 131071, 3, 1048573, 8191, 1];
  const pieces = [];
  for (let o = 0, k = 0; o < n; k++) {
    const len = Math.min(sizes[k % sizes.length], n - o);
    pieces.push(data.subarray(o, o + len));
    o += len;
  }
  const r = await runWeftWithInput(["xet", "chunks", "--json", "-"], pieces);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.equal(got.chunks.length, refChunks.length);
  for (let i = 0; i < refChunks.length; i++) {
    assert.equal(got.chunks[i].length, refChunks[i].length, `chunk ${i} length`);
    assert.equal(got.chunks[i].hash, hashToHex(refChunks[i].hash), `chunk ${i} hash`);
  }
  assert.equal(got.xorb_hash, hashToHex(xorbHash(refChunks)));
  assert.equal(got.file_hash, hashToHex(fileHash(refChunks)));
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
