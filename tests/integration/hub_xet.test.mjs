// The Xet CAS protocol of `weft serve` with the official JS client (@huggingface/hub from npm,
// unpatched): uploads through xorbs and shards, downloads through the client's Xet reader,
// cross-upload dedup through the global dedup API, token scopes, refusals of bad xorbs and shards,
// reconstructions with ranges (v1 single-range and v2 multi-range fetches), and clients or
// servers without Xet falling back to LFS. Xorbs and shards for the refusal cases are built here
// with the reference chunker and hashes (@huggingface/xetchunk-wasm).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";
import { spawnSync } from "node:child_process";
import * as hf from "@huggingface/hub";
import { getChunks, hashToHex, hexToBytes, xorbHash, fileHash, verificationHash, hmac } from
  "@huggingface/xetchunk-wasm";
import { Hasher } from "@huggingface/blake3-jit";
import { fastRandomBytes } from "./lib/env.mjs";
import { startHub, call } from "./lib/hub.mjs";

const XetBlob = hf.__internal_XetBlob;
const MiB = 1 << 20;
const KiB = 1 << 10;
const repo = { type: "model", name: "admin/xet" };
let hub;
let bob;

before(async () => {
  hub = await startHub();
  bob = hub.user("bob");
  await hf.createRepo({ repo, hubUrl: hub.url, accessToken: hub.token });
});
after(async () => {
  if (hub) await hub.stop();
});

const opts = () => ({ hubUrl: hub.url, accessToken: hub.token });
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");

// A fetch that records what the client sends to the CAS.
function recorder() {
  const rec = { xorbs: 0, xorbBytes: 0, shards: 0, dedupQueries: 0, recon: 0, fetches: 0,
    multipart: 0, lfsTransfers: 0, batchTransfer: undefined };
  rec.fetch = async (url, init = {}) => {
    const u = String(url);
    if (u.includes("/v1/xorbs/")) {
      rec.xorbs++;
      rec.xorbBytes += init.body.byteLength ?? init.body.size;
    }
    if (u.endsWith("/v1/shards")) rec.shards++;
    if (u.includes("/v1/chunks/")) rec.dedupQueries++;
    if (u.includes("/reconstructions/")) rec.recon++;
    if (u.includes("/api/lfs/")) rec.lfsTransfers++;
    const r = await fetch(url, init);
    if (u.includes("/v1/fetch/")) {
      rec.fetches++;
      if ((r.headers.get("content-type") ?? "").includes("multipart/byteranges")) rec.multipart++;
    }
    if (u.endsWith("/objects/batch")) rec.batchTransfer = (await r.clone().json()).transfer;
    return r;
  };
  return rec;
}

// ---- a client, by hand: raw xorbs and shards built with the reference chunker ----------------

// A xorb of the chunks of data, stored raw (scheme 0).
function rawXorb(data) {
  const chunks = getChunks(data);
  const parts = [];
  const offs = [];
  let off = 0;
  for (const c of chunks) {
    const h = Buffer.alloc(8);
    h.writeUIntLE(c.length, 1, 3);
    h.writeUIntLE(c.length, 5, 3);
    parts.push(h, Buffer.from(data.subarray(off, off + c.length)));
    offs.push(off);
    off += c.length;
  }
  return { hash: hashToHex(xorbHash(chunks)), bytes: Buffer.concat(parts), chunks, offs, data };
}

// A file made of terms [{x, start, end}] of raw xorbs.
function xetFile(terms) {
  const all = [];
  const bytes = [];
  const t2 = terms.map((t) => {
    const chunks = t.x.chunks.slice(t.start, t.end);
    all.push(...chunks);
    let raw = 0;
    for (let i = t.start; i < t.end; i++) {
      bytes.push(t.x.data.subarray(t.x.offs[i], t.x.offs[i] + t.x.chunks[i].length));
      raw += t.x.chunks[i].length;
    }
    return { ...t, raw, verification: verificationHash(chunks.map((c) => c.hash)) };
  });
  const data = Buffer.concat(bytes);
  return { hash: hashToHex(fileHash(all)), sha: sha256(data), data, terms: t2 };
}

const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const BOOKEND = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.alloc(16)]);
const MAGIC = Buffer.from([...Buffer.from("HFRepoMetaData"), 0, 85, 105, 103, 69, 106, 123, 129,
  87, 131, 165, 189, 217, 92, 205, 209, 74, 169]);

// A shard (upload form: no footer, no xorb listings) declaring files.
function shard(files) {
  const parts = [MAGIC, u64(2), u64(0)];
  for (const f of files) {
    parts.push(Buffer.from(hexToBytes(f.hash)), u32(0xc0000000), u32(f.terms.length), u64(0));
    for (const t of f.terms)
      parts.push(Buffer.from(hexToBytes(t.x.hash)), u32(0), u32(t.raw), u32(t.start), u32(t.end));
    for (const t of f.terms) parts.push(Buffer.from(t.verification), Buffer.alloc(16));
    parts.push(Buffer.from(hexToBytes(f.sha)), Buffer.alloc(16));
  }
  parts.push(BOOKEND, BOOKEND);
  return Buffer.concat(parts);
}

async function xetToken(mode, token = hub.token, r = repo.name) {
  return call(hub, "GET", `/api/models/${r}/xet-${mode}-token/main`, { token });
}

async function cas(method, p, token, body, headers = {}) {
  return call(hub, method, p, { token, body, headers });
}

// ---- tests ------------------------------------------------------------------------------------

test("token routes: JSON and headers, scoped by repo access", async () => {
  const r = await xetToken("read");
  assert.equal(r.status, 200);
  assert.equal(r.json.casUrl, hub.url);
  assert.match(r.json.accessToken, /^wxt1\.r\./);
  const now = Date.now() / 1000;
  assert.ok(r.json.exp > now + 3000 && r.json.exp < now + 3700, `exp ${r.json.exp}`);
  assert.equal(r.headers.get("x-xet-access-token"), r.json.accessToken);
  assert.equal(r.headers.get("x-xet-cas-url"), hub.url);
  assert.equal(r.headers.get("x-xet-token-expiration"), String(r.json.exp));
  const w = await xetToken("write");
  assert.equal(w.status, 200);
  assert.match(w.json.accessToken, /^wxt1\.w\./);
  // bob may read the public repo but not write to admin's namespace; anonymous likewise.
  assert.equal((await xetToken("read", bob)).status, 200);
  assert.equal((await xetToken("write", bob)).status, 403);
  assert.equal((await xetToken("read", null)).status, 200);
  assert.equal((await xetToken("write", null)).status, 401);
  assert.equal((await xetToken("read", hub.token, "admin/nope")).status, 404);
});

// Upload 1: small and large, random and repetitive, one file spanning two xorbs.
const config = Buffer.from(JSON.stringify({ hidden: 32 }));
const small = Buffer.from(fastRandomBytes(100 * KiB, 21));
const random = Buffer.from(fastRandomBytes(6 * MiB + 123, 22));
const block = Buffer.from(fastRandomBytes(MiB, 23));
const repeat = Buffer.concat(Array(8).fill(block));
const big = Buffer.from(fastRandomBytes(70 * MiB, 24));
const uploaded = { "config.json": config, "small.bin": small, "random.bin": random,
  "repeat.bin": repeat, "big.bin": big };

test("uploadFiles over Xet: xorbs and shards, no LFS transfer; files resolve bit-exact", async () => {
  const rec = recorder();
  const out = await hf.uploadFiles({ repo, ...opts(), fetch: rec.fetch, commitTitle: "xet upload",
    files: Object.entries(uploaded).map(([p, b]) => ({ path: p, content: new Blob([b]) })) });
  assert.match(out.commit.oid, /^[0-9a-f]{40}$/);
  assert.equal(rec.batchTransfer, "xet");
  assert.equal(rec.lfsTransfers, 0, "no LFS PUT");
  assert.ok(rec.xorbs >= 2, `${rec.xorbs} xorbs (big.bin alone needs two)`);
  assert.ok(rec.shards >= 1);
  const total = small.length + random.length + repeat.length + big.length;
  const unique = small.length + random.length + block.length + big.length;
  console.log(`# upload 1: ${rec.xorbs} xorbs, ${rec.xorbBytes} bytes posted for ${total} bytes` +
    ` of files (${unique} unique), ${rec.shards} shards`);
  assert.ok(rec.xorbBytes >= unique, "random bytes do not compress");
  assert.ok(rec.xorbBytes < unique + 2 * 128 * KiB + 64 * KiB, "repeat.bin's 8 copies sent once");

  const tree = {};
  for await (const f of hf.listFiles({ repo, ...opts() })) tree[f.path] = f;
  for (const [p, b] of Object.entries(uploaded)) {
    const r = await call(hub, "GET", `/admin/xet/resolve/main/${p}`);
    assert.equal(r.status, 200, p);
    assert.equal(sha256(r.bytes), sha256(b), `${p}: resolve bytes`);
    if (p === "config.json") continue;
    assert.equal(tree[p].lfs.oid, sha256(b));
    const want = hashToHex(fileHash(getChunks(b)));
    assert.equal(tree[p].xetHash, want, `${p}: xetHash in the tree`);
    const head = await call(hub, "HEAD", `/admin/xet/resolve/main/${p}`);
    assert.equal(head.headers.get("x-xet-hash"), want);
    assert.equal(head.headers.get("x-xet-refresh-route"), `${hub.url}/api/models/admin/xet/xet-read-token/main`);
    assert.match(head.headers.get("link"),
      new RegExp(`<${hub.url}/api/models/admin/xet/xet-read-token/main>; rel="xet-auth"`));
    assert.match(head.headers.get("link"),
      new RegExp(`<${hub.url}/v1/reconstructions/${want}>; rel="xet-reconstruction-info"`));
  }
});

test("downloadFile takes the Xet path (XetBlob): whole files and slices", async () => {
  for (const p of ["small.bin", "random.bin", "repeat.bin", "big.bin"]) {
    const rec = recorder();
    const blob = await hf.downloadFile({ repo, path: p, ...opts(), fetch: rec.fetch });
    assert.ok(blob instanceof XetBlob, `${p}: a XetBlob`);
    assert.equal(blob.size, uploaded[p].length);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(uploaded[p]), `${p}: bytes`);
    assert.ok(rec.recon >= 1 && rec.fetches >= 1, `${p}: reconstruction and fetch URLs used`);
    for (const [a, b] of [[0, 1], [70000, 200001], [uploaded[p].length - 5, uploaded[p].length]]) {
      const s = Buffer.from(await blob.slice(a, b).arrayBuffer());
      assert.ok(s.equals(uploaded[p].subarray(a, b)), `${p}: slice ${a}-${b}`);
    }
  }
  const info = await hf.fileDownloadInfo({ repo, path: "random.bin", ...opts() });
  assert.equal(info.size, random.length);
  assert.equal(info.etag, `"${sha256(random)}"`);
  assert.equal(info.xet.hash, hashToHex(fileHash(getChunks(random))));
  // Regular files stay plain.
  const cfg = await hf.downloadFile({ repo, path: "config.json", ...opts() });
  assert.ok(!(cfg instanceof XetBlob));
  assert.equal(await cfg.text(), config.toString());
});

test("a second upload that shares most chunks sends only the new ones", async () => {
  const random2 = Buffer.concat([random, Buffer.from(fastRandomBytes(300 * KiB, 31))]);
  random2.fill(7, 5 * MiB, 5 * MiB + 1000);
  const big2 = Buffer.from(big);
  big2.fill(9, 68 * MiB, 68 * MiB + 2000); // in big.bin's second xorb
  const rec = recorder();
  await hf.uploadFiles({ repo, ...opts(), fetch: rec.fetch, commitTitle: "edits",
    files: [{ path: "random2.bin", content: new Blob([random2]) },
      { path: "big2.bin", content: new Blob([big2]) }] });
  console.log(`# upload 2: ${rec.xorbBytes} bytes posted in ${rec.xorbs} xorbs for ` +
    `${random2.length + big2.length} bytes of files, ${rec.dedupQueries} dedup queries`);
  assert.ok(rec.dedupQueries >= 2, "one global dedup query per file");
  // New: 300 KiB appended, and the chunks around two small edits (at most 3 x 128 KiB each).
  assert.ok(rec.xorbBytes <= 300 * KiB + 6 * 128 * KiB + 4096, `${rec.xorbBytes} bytes posted`);
  for (const [p, b] of [["random2.bin", random2], ["big2.bin", big2]]) {
    const r = await call(hub, "GET", `/admin/xet/resolve/main/${p}`);
    assert.equal(sha256(r.bytes), sha256(b), `${p}: resolve bytes`);
    const blob = await hf.downloadFile({ repo, path: p, ...opts() });
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(b), `${p}: Xet bytes`);
  }
});

test("CAS: a missing, bad or expired token is 401; a read token cannot upload (403)", async () => {
  const x = rawXorb(fastRandomBytes(200 * KiB, 41));
  const read = (await xetToken("read")).json.accessToken;
  const write = (await xetToken("write")).json.accessToken;
  const url = `/v1/xorbs/default/${x.hash}`;
  assert.equal((await cas("POST", url, null, x.bytes)).status, 401);
  assert.equal((await cas("POST", url, "garbage", x.bytes)).status, 401);
  assert.equal((await cas("POST", url, hub.token, x.bytes)).status, 401, "a Hub token is not a CAS token");
  const forged = write.replace(/\.(\d+)\./, (m, e) => `.${Number(e) + 100}.`);
  assert.equal((await cas("POST", url, forged, x.bytes)).status, 401, "expiry changed");
  assert.equal((await cas("POST", url, read, x.bytes)).status, 403);
  assert.equal((await cas("POST", "/v1/shards", read, shard([]))).status, 403);
  // A token signed with the server's key but past its expiry.
  const q = spawnSync("sqlite3", ["-readonly", path.join(hub.data, "meta.db"),
    "select hex(value) from secrets where name = 'xet-token'"]);
  if (q.status === 0 && q.stdout.toString().trim().length === 64) {
    const key = Buffer.from(q.stdout.toString().trim(), "hex");
    const body = `wxt1.w.${Math.floor(Date.now() / 1000) - 10}.models/admin/xet`;
    const mac = Hasher.newKeyed(key).update(Buffer.from(`weft xet token\n${body}`)).finalize();
    const expired = `${body}.${Buffer.from(mac).toString("hex")}`;
    const r = await cas("POST", url, expired, x.bytes);
    assert.equal(r.status, 401);
    assert.match(r.json.error, /expired/);
    // The same construction with a future expiry is accepted: the test signs like the server.
    const body2 = `wxt1.w.${Math.floor(Date.now() / 1000) + 60}.models/admin/xet`;
    const mac2 = Hasher.newKeyed(key).update(Buffer.from(`weft xet token\n${body2}`)).finalize();
    const ok = await cas("POST", url, `${body2}.${Buffer.from(mac2).toString("hex")}`, x.bytes);
    assert.equal(ok.status, 200);
  } else {
    console.log("# sqlite3 CLI not available: expired-token case left to tests/unit/xet/token.c");
  }
  assert.equal((await cas("POST", url, write, x.bytes)).status, 200);
});

let xa; // a raw xorb uploaded through the CAS API by hand
test("xorbs: a body that does not match its hash is 400 and stores nothing; uploads are idempotent",
  async () => {
    const write = (await xetToken("write")).json.accessToken;
    xa = rawXorb(fastRandomBytes(MiB + 77, 42));
    assert.ok(xa.chunks.length >= 8);
    const bad = Buffer.from(xa.bytes);
    bad[100] ^= 1;
    const r1 = await cas("POST", `/v1/xorbs/default/${xa.hash}`, write, bad);
    assert.equal(r1.status, 400);
    assert.match(r1.json.error, new RegExp(xa.hash));
    // Nothing stored: a shard naming it is refused.
    const f = xetFile([{ x: xa, start: 0, end: 3 }]);
    const s = await cas("POST", "/v1/shards", write, shard([f]));
    assert.equal(s.status, 400);
    assert.match(s.json.error, /is not stored/);
    const trunc = await cas("POST", `/v1/xorbs/default/${xa.hash}`, write, xa.bytes.subarray(0, 5000));
    assert.equal(trunc.status, 400);
    const r2 = await cas("POST", `/v1/xorbs/default/${xa.hash}`, write, xa.bytes);
    assert.equal(r2.status, 200);
    assert.deepEqual(r2.json, { was_inserted: true });
    const r3 = await cas("POST", `/v1/xorbs/default/${xa.hash}`, write, xa.bytes);
    assert.deepEqual(r3.json, { was_inserted: false });
    assert.equal((await cas("POST", "/v1/xorbs/default/nothex", write, xa.bytes)).status, 400);
  });

let fm; // a file of two disjoint ranges of xa: chunks [0, 2) and [5, 8)
test("shards: a missing xorb or a wrong verification hash is 400 and registers nothing", async () => {
  const write = (await xetToken("write")).json.accessToken;
  const read = (await xetToken("read")).json.accessToken;
  const other = rawXorb(fastRandomBytes(300 * KiB, 43)); // never uploaded
  fm = xetFile([{ x: xa, start: 0, end: 2 }, { x: xa, start: 5, end: 8 }]);
  const missing = xetFile([{ x: xa, start: 0, end: 2 }, { x: other, start: 0, end: 2 }]);
  let r = await cas("POST", "/v1/shards", write, shard([missing]));
  assert.equal(r.status, 400);
  assert.match(r.json.error, new RegExp(`xorb ${other.hash} is not stored`));
  const wrongVer = { ...fm, terms: fm.terms.map((t) => ({ ...t })) };
  wrongVer.terms[1].verification = Uint8Array.from(fm.terms[1].verification);
  wrongVer.terms[1].verification[0] ^= 1;
  r = await cas("POST", "/v1/shards", write, shard([wrongVer]));
  assert.equal(r.status, 400);
  assert.match(r.json.error, /verification hash/);
  const wrongSha = { ...fm, sha: "ab".repeat(32) };
  r = await cas("POST", "/v1/shards", write, shard([wrongSha]));
  assert.equal(r.status, 400);
  assert.match(r.json.error, /SHA-256/);
  assert.equal((await cas("POST", "/v1/shards", write, Buffer.from("not a shard"))).status, 400);
  for (const f of [missing, fm])
    assert.equal((await cas("GET", `/v1/reconstructions/${f.hash}`, read)).status, 404);

  r = await cas("POST", "/v1/shards", write, shard([fm]));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { result: 1 });
  r = await cas("POST", "/v1/shards", write, shard([fm]));
  assert.deepEqual(r.json, { result: 0 });
  // Registered with its SHA-256: a commit may name it as an LFS file.
  const ndjson = [{ key: "header", value: { summary: "via CAS" } },
    { key: "lfsFile", value: { path: "by-hand.bin", algo: "sha256", oid: fm.sha, size: fm.data.length } }]
    .map((l) => JSON.stringify(l)).join("\n");
  const c = await call(hub, "POST", "/api/models/admin/xet/commit/main",
    { body: ndjson, headers: { "content-type": "application/x-ndjson" } });
  assert.equal(c.status, 200, c.text);
  const got = await call(hub, "GET", "/admin/xet/resolve/main/by-hand.bin");
  assert.ok(got.bytes.equals(fm.data));
});

// Reassembles a v1 reconstruction by fetching each fetch_info URL with its url_range (raw chunks).
async function readV1(recon, want) {
  const out = [];
  let skip = recon.offset_into_first_range;
  for (const t of recon.terms) {
    const fi = recon.fetch_info[t.hash].find((e) => e.range.start <= t.range.start && e.range.end >= t.range.end);
    assert.ok(fi, "a fetch_info entry covers the term");
    const r = await fetch(fi.url, { headers: { Range: `bytes=${fi.url_range.start}-${fi.url_range.end}` } });
    assert.equal(r.status, 206);
    const buf = Buffer.from(await r.arrayBuffer());
    assert.equal(buf.length, fi.url_range.end - fi.url_range.start + 1);
    let pos = 0;
    for (let c = fi.range.start; c < fi.range.end; c++) {
      assert.equal(buf[pos + 4], 0, "raw chunk (random data does not compress)");
      const raw = buf.subarray(pos + 8, pos + 8 + buf.readUIntLE(pos + 1, 3));
      if (c >= t.range.start && c < t.range.end) {
        const from = Math.min(skip, raw.length);
        skip -= from;
        out.push(raw.subarray(from));
      }
      pos += 8 + raw.length;
    }
    assert.equal(pos, buf.length);
  }
  return Buffer.concat(out).subarray(0, want);
}

test("reconstructions: v1 with a Range, signed fetch URLs, v2 multi-range through XetBlob", async () => {
  const read = (await xetToken("read")).json.accessToken;
  const rh = hashToHex(fileHash(getChunks(random)));
  // v1, a range starting mid-chunk.
  const a = 1000001, b = 2500000;
  let r = await cas("GET", `/v1/reconstructions/${rh}`, read, undefined, { Range: `bytes=${a}-${b}` });
  assert.equal(r.status, 200);
  assert.ok(r.json.offset_into_first_range > 0);
  const got = await readV1(r.json, b - a + 1);
  assert.ok(got.equals(random.subarray(a, b + 1)), "v1 range reassembled");
  // A fetch URL is bound to its ranges and signature.
  const fi = Object.values(r.json.fetch_info)[0][0];
  const outside = await fetch(fi.url, { headers: { Range: `bytes=${fi.url_range.end + 1}-${fi.url_range.end + 10}` } });
  assert.equal(outside.status, 403);
  const forged = await fetch(fi.url.replace(/sig=[0-9a-f]/, "sig=x"), { headers: { Range: `bytes=${fi.url_range.start}-${fi.url_range.start}` } });
  assert.equal(forged.status, 403);
  r = await cas("GET", `/v1/reconstructions/${rh}`, read, undefined, { Range: `bytes=${random.length}-` });
  assert.equal(r.status, 416);
  assert.equal((await cas("GET", `/v2/reconstructions/${"0".repeat(63)}1`, read)).status, 404);

  // v2 for fm (chunks [0, 2) and [5, 8) of one xorb): one URL, two ranges, multipart answer.
  r = await cas("GET", `/v2/reconstructions/${fm.hash}`, read);
  assert.equal(r.status, 200);
  const entries = r.json.xorbs[xa.hash];
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0].ranges.map((x) => x.chunks), [{ start: 0, end: 2 }, { start: 5, end: 8 }]);
  for (const parallelDownloads of [true, false]) {
    const rec = recorder();
    const blob = new XetBlob({ hash: fm.hash, size: fm.data.length, fetch: rec.fetch, parallelDownloads,
      refreshUrl: `${hub.url}/api/models/admin/xet/xet-read-token/main`, accessToken: hub.token });
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(fm.data), "XetBlob read fm");
    assert.ok(rec.multipart >= 1, "a multipart/byteranges answer");
    const s = Buffer.from(await blob.slice(100, fm.data.length - 100).arrayBuffer());
    assert.ok(s.equals(fm.data.subarray(100, fm.data.length - 100)));
  }
  // Batch (v1, whole files).
  r = await cas("POST", "/v1/reconstructions", read, { file_ids: [fm.hash, rh] });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json.files).sort(), [fm.hash, rh].sort());
  assert.ok(r.json.fetch_info[xa.hash].length >= 1);
});

test("global dedup: a key chunk gets a shard with HMAC-ed hashes, others 404", async () => {
  const read = (await xetToken("read")).json.accessToken;
  const chunks = getChunks(random);
  const first = hashToHex(chunks[0].hash);
  for (const prefix of ["default", "default-merkledb"]) {
    const r = await cas("GET", `/v1/chunks/${prefix}/${first}`, read);
    assert.equal(r.status, 200);
    const body = r.bytes;
    assert.ok(body.subarray(0, 32).equals(MAGIC));
    const footerStart = body.length - Number(body.readBigUInt64LE(40));
    const key = body.subarray(footerStart + 72, footerStart + 104);
    assert.ok(body.indexOf(Buffer.from(hmac(chunks[0].hash, key))) > 0, "HMAC of the chunk listed");
    assert.ok(body.indexOf(Buffer.from(hmac(chunks[5].hash, key))) > 0, "its neighbours too");
    assert.equal(body.indexOf(Buffer.from(chunks[0].hash)), -1, "never the plain hash");
  }
  const mid = chunks.slice(1).find((c) => Buffer.from(c.hash).readBigUInt64LE(24) % 1024n !== 0n);
  assert.equal((await cas("GET", `/v1/chunks/default/${hashToHex(mid.hash)}`, read)).status, 404);
  assert.equal((await cas("GET", `/v1/chunks/default/${"12".repeat(32)}`, read)).status, 404);
  assert.equal((await cas("GET", `/v1/chunks/default/${first}`, null)).status, 401);
});

test("without Xet: useXet:false clients here, and a --no-xet server, use LFS", async () => {
  const data = Buffer.from(fastRandomBytes(3 * MiB, 51));
  const rec = recorder();
  await hf.uploadFiles({ repo, ...opts(), fetch: rec.fetch, useXet: false,
    files: [{ path: "lfs.bin", content: new Blob([data]) }] });
  assert.equal(rec.xorbs, 0);
  assert.equal(rec.batchTransfer, "basic");
  assert.ok((await call(hub, "GET", "/admin/xet/resolve/main/lfs.bin")).bytes.equals(data));

  const plain = await startHub(["--no-xet"]);
  try {
    const o = { hubUrl: plain.url, accessToken: plain.token };
    await hf.createRepo({ repo, ...o });
    const rec2 = recorder();
    await hf.uploadFiles({ repo, ...o, fetch: rec2.fetch, files: [{ path: "a.bin", content: new Blob([data]) }] });
    assert.equal(rec2.xorbs, 0);
    assert.equal(rec2.batchTransfer, "basic");
    const head = await call(plain, "HEAD", "/admin/xet/resolve/main/a.bin");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("x-xet-hash"), null);
    assert.equal(head.headers.get("link"), null);
    const blob = await hf.downloadFile({ repo, path: "a.bin", ...o });
    assert.ok(!(blob instanceof XetBlob));
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data));
    assert.equal((await call(plain, "GET", "/api/models/admin/xet/xet-read-token/main")).status, 404);
    const tree = [];
    for await (const f of hf.listFiles({ repo, ...o })) tree.push(f);
    assert.equal(tree.find((f) => f.path === "a.bin").xetHash, undefined);
  } finally {
    await plain.stop();
  }
});
