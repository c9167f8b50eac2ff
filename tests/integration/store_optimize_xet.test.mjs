// The official JS client's Xet download path (@huggingface/hub XetBlob, unpatched) on files whose
// chunks `weft store optimize` re-coded with Weft's weight codecs: a BF16 base and a fine-tune
// (a delta against the base) uploaded over Xet, optimized while the hub runs, then downloaded
// through reconstructions and /v1/fetch, whole and in slices: the client only ever sees standard
// Xet chunks and gets the uploaded bytes. Also with the real stories260K pair when present.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as hf from "@huggingface/hub";
import { SHARED_DATA } from "./lib/env.mjs";
import { startHub } from "./lib/hub.mjs";

const XetBlob = hf.__internal_XetBlob;
let hub;
before(async () => { hub = await startHub(); });
after(async () => { if (hub) await hub.stop(); });
const opts = () => ({ hubUrl: hub.url, accessToken: hub.token });
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");

// splitmix64 normals -> BF16 (round to nearest even).
function family(seed, moved, nTensors = 8, rows = 256, cols = 512) {
  let s = BigInt(seed);
  const M = 0xffffffffffffffffn;
  const next = () => {
    s = (s + 0x9e3779b97f4a7c15n) & M;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return Number((z ^ (z >> 31n)) >> 11n) / 9007199254740992 + 1e-17;
  };
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const bf16 = (v) => { f32[0] = v; const u = u32[0]; return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; };
  const header = {};
  if (moved > 0) header.__metadata__ = { note: "a fine-tune for the optimize test" };
  const n = rows * cols;
  for (let t = 0; t < nTensors; t++)
    header[`layers.${t}.weight`] = { dtype: "BF16", shape: [rows, cols], data_offsets: [2 * n * t, 2 * n * (t + 1)] };
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const data = new Uint16Array(n * nTensors);
  // the same base values for every member; the fine-tune's noise from its own stream
  const noise = { s: BigInt(seed * 7 + 1) };
  for (let i = 0; i < data.length; i++) {
    const g = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    data[i] = bf16(0.02 * g);
  }
  if (moved > 0) {
    s = noise.s;
    for (let i = 0; i < data.length; i++) {
      f32[0] = 0; u32[0] = data[i] << 16;
      const v = f32[0] + moved * 0.02 * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
      data[i] = bf16(v);
    }
  }
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, Buffer.from(data.buffer)]);
}

async function roundTrip(name, base, ft) {
  const repo = { type: "model", name: `admin/${name}` };
  await hf.createRepo({ repo, ...opts() });
  await hf.uploadFiles({ repo, ...opts(), commitTitle: "family",
    files: [{ path: "base.safetensors", content: new Blob([base]) },
      { path: "ft.safetensors", content: new Blob([ft]) }] });
  const run = (args) => {
    const r = hub.weft(["store", ...args]);
    assert.equal(r.status, 0, `weft store ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  run(["optimize", sha256(base)]);
  const out = JSON.parse(run(["optimize", sha256(ft), "--base", sha256(base), "--json"]));
  console.log(`# ${name}: fine-tune stored ${out.before_bytes} -> ${out.after_bytes} bytes`);
  assert.ok(out.delta, "the fine-tune was coded as a delta");
  assert.ok(out.after_bytes < out.before_bytes);
  for (const [p, b] of [["base.safetensors", base], ["ft.safetensors", ft]]) {
    const blob = await hf.downloadFile({ repo, path: p, ...opts() });
    assert.ok(blob instanceof XetBlob, `${p}: the Xet path`);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(b), `${p}: bytes`);
    for (const [a, e] of [[0, 1], [7, 70000], [65536, 200001], [b.length - 5, b.length]]) {
      const got = Buffer.from(await blob.slice(a, e).arrayBuffer());
      assert.ok(got.equals(b.subarray(a, e)), `${p}: slice ${a}-${e}`);
    }
  }
  assert.equal(run(["fsck"]).includes("fsck: clean"), true);
}

test("synthetic BF16 family: optimized files download bit-exact through XetBlob", async () => {
  await roundTrip("synth", family(5, 0), family(5, 0.03));
});

test("the real stories260K pair (skipped without ../shared/data)", async (t) => {
  const b = SHARED_DATA && path.join(SHARED_DATA, "stories260K-hf/model.bf16.safetensors");
  const f = SHARED_DATA && path.join(SHARED_DATA, "stories260K-wiki-ft/model.bf16.safetensors");
  if (!b || !fs.existsSync(b) || !fs.existsSync(f)) {
    t.skip(`shared data not found at ${SHARED_DATA}`);
    return;
  }
  await roundTrip("stories", fs.readFileSync(b), fs.readFileSync(f));
});
