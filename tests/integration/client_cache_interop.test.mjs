// The Hugging Face cache is shared: a cache `weft download` wrote is used by the official JS
// client (@huggingface/hub snapshotDownload / downloadFileToCacheDir) without fetching a file
// body again, and a cache the JS client wrote is used by `weft download` the same way. File-body
// requests are counted in the server's request log (GET .../resolve/...).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as hf from "@huggingface/hub";
import { fastRandomBytes, runWeft, tmpDir } from "./lib/env.mjs";
import { startHub } from "./lib/hub.mjs";

let hub;
let work;
const repo = { type: "model", name: "admin/interop" };
const files = {
  "README.md": Buffer.from("# interop\n"),
  "config.json": Buffer.from(JSON.stringify({ hidden_size: 32 })),
  "nested/deep/notes.txt": Buffer.from("nested notes\n"),
  "weights/model.bin": Buffer.from(fastRandomBytes(11 << 20, 3)), // >= 10 MiB: LFS
};

before(async () => {
  hub = await startHub([], { log: true });
  work = tmpDir("weft-interop-");
  const opts = { hubUrl: hub.url, accessToken: hub.token };
  await hf.createRepo({ repo, ...opts });
  await hf.uploadFiles({
    repo, ...opts, useXet: false, commitTitle: "files",
    files: Object.entries(files).map(([p, b]) => ({ path: p, content: new Blob([b]) })),
  });
});
after(async () => {
  if (hub) await hub.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const opts = () => ({ repo, hubUrl: hub.url, accessToken: hub.token });
// file bodies come through resolve GETs, or through Xet fetches (weft download's default)
const bodyGets = () =>
  (hub.stderr().match(/ GET \/(admin\/interop\/resolve|v1\/fetch)\//g) ?? []).length;
const weftDownload = (cacheDir, ...args) => {
  const r = runWeft(["download", "admin/interop", "--endpoint", hub.url, "--token", hub.token,
    "--cache-dir", cacheDir, "--quiet", ...args],
  { env: { ...process.env, HF_HOME: path.join(work, "hfhome") } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
// Waits until the server has logged everything sent so far (log lines follow the answers).
const settle = () => new Promise((r) => setTimeout(r, 200));
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");
const allFiles = [".gitattributes", ...Object.keys(files)];

function checkSnapshot(snapshot) {
  for (const [p, b] of Object.entries(files)) {
    assert.ok(fs.lstatSync(path.join(snapshot, p)).isSymbolicLink(), `${p} is not a link`);
    assert.ok(fs.readFileSync(path.join(snapshot, p)).equals(b), `${p}: other bytes`);
  }
}

test("a cache written by weft download is used by snapshotDownload and downloadFileToCacheDir", async () => {
  const cache = path.join(work, "weft-cache");
  const snapshot = weftDownload(cache);
  checkSnapshot(snapshot);
  await settle();
  const before = bodyGets();
  assert.ok(before >= allFiles.length, `weft made ${before} GETs for ${allFiles.length} files`);

  const jsSnapshot = await hf.snapshotDownload({ ...opts(), cacheDir: cache });
  assert.equal(jsSnapshot, snapshot);
  const commit = path.basename(snapshot);
  const one = await hf.downloadFileToCacheDir({
    ...opts(), cacheDir: cache, path: "weights/model.bin", revision: commit,
  });
  assert.equal(one, path.join(snapshot, "weights/model.bin"));
  assert.equal(sha256(fs.readFileSync(one)), sha256(files["weights/model.bin"]));
  await settle();
  assert.equal(bodyGets(), before, "the JS client fetched file bodies again");
  checkSnapshot(snapshot);
});

test("a cache written by the JS client is used by weft download", async () => {
  const cache = path.join(work, "js-cache");
  const jsSnapshot = await hf.snapshotDownload({ ...opts(), cacheDir: cache });
  checkSnapshot(jsSnapshot);
  const blobs = fs.readdirSync(path.join(cache, "models--admin--interop", "blobs")).sort();
  await settle();
  const before = bodyGets();

  const snapshot = weftDownload(cache);
  assert.equal(snapshot, jsSnapshot);
  const one = weftDownload(cache, "nested/deep/notes.txt");
  assert.equal(one, path.join(jsSnapshot, "nested/deep/notes.txt"));
  await settle();
  assert.equal(bodyGets(), before, "weft fetched file bodies again");
  // the same blobs (named by the same etags), nothing added
  assert.deepEqual(fs.readdirSync(path.join(cache, "models--admin--interop", "blobs")).sort(), blobs);
  assert.ok(blobs.includes(sha256(files["weights/model.bin"])));
  checkSnapshot(snapshot);
});
