// The official JS client (@huggingface/hub from npm, unpatched) against a real `weft serve`:
// accounts, repos, uploads (regular, LFS basic and multipart), listings, downloads with ranges,
// private repos, branches, commits and compare-and-swap.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as hf from "@huggingface/hub";
import { fastRandomBytes, tmpDir } from "./lib/env.mjs";
import { startHub, call } from "./lib/hub.mjs";

let hub;
let bob;
const repo = { type: "model", name: "admin/tiny" };

before(async () => {
  hub = await startHub();
  bob = hub.user("bob");
});
after(async () => {
  if (hub) await hub.stop();
});

const opts = () => ({ hubUrl: hub.url, accessToken: hub.token });
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");
const gitSha1 = (b) =>
  crypto.createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b])).digest("hex");

const readme = "---\nlicense: mit\ntags:\n- tiny\n- test\nlibrary_name: weft\n---\n# Tiny\n";
const config = Buffer.from(JSON.stringify({ hidden_size: 64, layers: 2 }));
const big = Buffer.from(fastRandomBytes(12 << 20, 7)); // >= 10 MiB: LFS
const binSmall = Buffer.from([0, 1, 2, 3, 0, 255, 7, 8]); // binary sample: LFS

test("whoami reports the admin and its token", async () => {
  const me = await hf.whoAmI(opts());
  assert.equal(me.name, "admin");
  assert.equal(me.type, "user");
  assert.ok(Array.isArray(me.orgs));
  assert.equal(me.auth.type, "access_token");
});

test("a bad token is refused with 401", async () => {
  const r = await call(hub, "GET", "/api/whoami-v2", { token: "hf_notarealtokenatallxxxxxxxxxxxxxxxx" });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, "Invalid credentials in Authorization header");
});

test("createRepo makes a repo with an initial commit; a second create is 409", async () => {
  const res = await hf.createRepo({ repo, ...opts() });
  assert.equal(res.repoUrl, `${hub.url}/admin/tiny`);
  assert.equal(await hf.repoExists({ repo, hubUrl: hub.url, accessToken: hub.token }), true);
  await assert.rejects(hf.createRepo({ repo, ...opts() }), (e) => e.statusCode === 409);
  const files = [];
  for await (const f of hf.listFiles({ repo, ...opts() })) files.push(f.path);
  assert.deepEqual(files, [".gitattributes"]);
  assert.equal(await hf.countCommits({ repo, ...opts() }), 1);
});

let firstCommit;
test("uploadFiles: regular files in git, large and binary files through LFS", async () => {
  const info0 = await hf.modelInfo({ name: repo.name, ...opts(), additionalFields: ["sha"] });
  firstCommit = info0.sha;
  const out = await hf.uploadFiles({
    repo, ...opts(), useXet: false, commitTitle: "add model",
    files: [
      { path: "README.md", content: new Blob([readme]) },
      { path: "config.json", content: new Blob([config]) },
      { path: "weights/model.bin", content: new Blob([big]) },
      { path: "weights/tiny.bin", content: new Blob([binSmall]) },
    ],
  });
  assert.match(out.commit.oid, /^[0-9a-f]{40}$/);
  assert.equal(out.commit.url, `${hub.url}/admin/tiny/commit/${out.commit.oid}`);

  const entries = {};
  for await (const f of hf.listFiles({ repo, recursive: true, ...opts() })) entries[f.path] = f;
  assert.deepEqual(Object.keys(entries).sort(),
    [".gitattributes", "README.md", "config.json", "weights", "weights/model.bin", "weights/tiny.bin"]);
  assert.equal(entries["config.json"].oid, gitSha1(config));
  assert.equal(entries["config.json"].lfs, undefined);
  assert.equal(entries["weights/model.bin"].size, big.length);
  assert.equal(entries["weights/model.bin"].lfs.oid, sha256(big));
  assert.equal(entries["weights/tiny.bin"].lfs.oid, sha256(binSmall));
  assert.equal(entries["weights"].type, "directory");
});

test("downloads: whole files, ranges, fileDownloadInfo, raw pointers", async () => {
  const blob = await hf.downloadFile({ repo, path: "weights/model.bin", ...opts() });
  assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(big));
  const slice = Buffer.from(await blob.slice(1000, 1010).arrayBuffer());
  assert.deepEqual(slice, big.subarray(1000, 1010));

  const info = await hf.fileDownloadInfo({ repo, path: "weights/model.bin", ...opts() });
  assert.equal(info.size, big.length);
  assert.equal(info.etag, `"${sha256(big)}"`);

  const cfg = await hf.downloadFile({ repo, path: "config.json", ...opts() });
  assert.equal(await cfg.text(), config.toString());

  const raw = await call(hub, "GET", "/admin/tiny/raw/main/weights/model.bin");
  assert.match(raw.text, new RegExp(`oid sha256:${sha256(big)}\nsize ${big.length}\n$`));
  assert.equal(await hf.fileExists({ repo, path: "weights/tiny.bin", ...opts() }), true);
  assert.equal(await hf.fileExists({ repo, path: "nope.bin", ...opts() }), false);
  assert.equal(await hf.downloadFile({ repo, path: "nope.bin", ...opts() }), null);
});

test("resolve headers, HEAD, suffix ranges and 416", async () => {
  const head = await call(hub, "HEAD", "/admin/tiny/resolve/main/weights/model.bin");
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(big.length));
  assert.match(head.headers.get("x-repo-commit"), /^[0-9a-f]{40}$/);
  assert.equal(head.headers.get("x-linked-size"), String(big.length));
  assert.equal(head.headers.get("accept-ranges"), "bytes");
  const tail = await call(hub, "GET", "/admin/tiny/resolve/main/weights/model.bin",
    { headers: { range: "bytes=-100" } });
  assert.equal(tail.status, 206);
  assert.deepEqual(tail.bytes, big.subarray(big.length - 100));
  assert.equal(tail.headers.get("content-range"), `bytes ${big.length - 100}-${big.length - 1}/${big.length}`);
  const past = await call(hub, "GET", "/admin/tiny/resolve/main/config.json",
    { headers: { range: `bytes=${config.length}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get("content-range"), `bytes */${config.length}`);
  const missing = await call(hub, "GET", "/admin/tiny/resolve/main/missing.txt");
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("x-error-code"), "EntryNotFound");
  assert.match(missing.headers.get("x-repo-commit"), /^[0-9a-f]{40}$/);
  const badrev = await call(hub, "GET", "/admin/tiny/resolve/nobranch/config.json");
  assert.equal(badrev.headers.get("x-error-code"), "RevisionNotFound");
  const older = await call(hub, "GET", `/admin/tiny/resolve/${firstCommit}/config.json`);
  assert.equal(older.headers.get("x-error-code"), "EntryNotFound");
});

test("model info: sha, siblings, cardData and tags from the README", async () => {
  const r = await call(hub, "GET", "/api/models/admin/tiny?blobs=true");
  assert.equal(r.status, 200);
  assert.equal(r.json.id, "admin/tiny");
  assert.match(r.json._id, /^[0-9a-f]{24}$/);
  assert.match(r.json.sha, /^[0-9a-f]{40}$/);
  assert.equal(r.json.private, false);
  assert.equal(r.json.gated, false);
  assert.deepEqual(r.json.cardData, { license: "mit", tags: ["tiny", "test"], library_name: "weft" });
  assert.ok(r.json.tags.includes("tiny") && r.json.tags.includes("weft"));
  assert.equal(r.json.library_name, "weft");
  assert.match(r.json.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const model = r.json.siblings.find((s) => s.rfilename === "weights/model.bin");
  assert.equal(model.size, big.length);
  assert.equal(model.lfs.sha256, sha256(big));
  const byRev = await hf.modelInfo({ name: repo.name, ...opts(), revision: firstCommit, additionalFields: ["sha"] });
  assert.equal(byRev.sha, firstCommit);
});

test("paths-info in JSON and form encodings", async () => {
  const js = await call(hub, "POST", "/api/models/admin/tiny/paths-info/main",
    { body: { paths: ["config.json", "nope", "weights"], expand: true } });
  assert.equal(js.status, 200);
  assert.deepEqual(js.json.map((e) => e.path), ["config.json", "weights"]);
  assert.match(js.json[0].lastCommit.id, /^[0-9a-f]{40}$/);
  const form = await call(hub, "POST", "/api/models/admin/tiny/paths-info/main", {
    body: "paths=weights%2Fmodel.bin&paths=README.md&expand=false",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.deepEqual(form.json.map((e) => e.path), ["weights/model.bin", "README.md"]);
  assert.equal(form.json[0].lfs.size, big.length);
});

test("multipart LFS upload of a large file", async () => {
  const huge = Buffer.from(fastRandomBytes(70 << 20, 11));
  await hf.uploadFiles({ repo, ...opts(), useXet: false, files: [{ path: "huge.bin", content: new Blob([huge]) }] });
  const r = await call(hub, "GET", "/admin/tiny/resolve/main/huge.bin");
  assert.equal(r.status, 200);
  assert.equal(sha256(r.bytes), sha256(huge));
});

test("a stale parentCommit is refused with 412 and changes nothing", async () => {
  const before = (await call(hub, "GET", "/api/models/admin/tiny")).json.sha;
  await assert.rejects(
    hf.commit({ repo, ...opts(), title: "stale", parentCommit: firstCommit, useXet: false,
      operations: [{ operation: "addOrUpdate", path: "x.txt", content: new Blob(["x"]) }] }),
    (e) => e.statusCode === 412);
  assert.equal((await call(hub, "GET", "/api/models/admin/tiny")).json.sha, before);
});

test("commits with bad paths or unknown LFS objects are refused", async () => {
  const ndjson = (lines) => lines.map((l) => JSON.stringify(l)).join("\n");
  const bad = await call(hub, "POST", "/api/models/admin/tiny/commit/main", {
    body: ndjson([{ key: "header", value: { summary: "evil" } },
      { key: "file", value: { path: "../escape.txt", content: "eA==", encoding: "base64" } }]),
    headers: { "content-type": "application/x-ndjson" },
  });
  assert.equal(bad.status, 400);
  const lfs = await call(hub, "POST", "/api/models/admin/tiny/commit/main", {
    body: ndjson([{ key: "header", value: { summary: "phantom" } },
      { key: "lfsFile", value: { path: "ghost.bin", algo: "sha256", oid: "ab".repeat(32), size: 5 } }]),
    headers: { "content-type": "application/x-ndjson" },
  });
  assert.equal(lfs.status, 422);
  const files = [];
  for await (const f of hf.listFiles({ repo, ...opts() })) files.push(f.path);
  assert.ok(!files.includes("ghost.bin") && !files.includes("escape.txt"));
});

test("branches, pull requests, commits listing, deletes", async () => {
  await hf.createBranch({ repo, branch: "dev", ...opts() });
  await assert.rejects(hf.createBranch({ repo, branch: "dev", ...opts() }), (e) => e.statusCode === 409);
  const pr = await hf.uploadFiles({ repo, ...opts(), useXet: false, isPullRequest: true,
    files: [{ path: "pr.txt", content: new Blob(["from a PR"]) }] });
  assert.match(pr.pullRequestUrl, /\/admin\/tiny\/discussions\/1$/);
  const prFile = await call(hub, "GET", "/admin/tiny/resolve/refs%2Fpr%2F1/pr.txt");
  assert.equal(prFile.text, "from a PR");
  const refs = await call(hub, "GET", "/api/models/admin/tiny/refs?include_prs=1");
  assert.deepEqual(refs.json.branches.map((b) => b.name).sort(), ["dev", "main"]);
  assert.equal(refs.json.pullRequests[0].ref, "refs/pr/1");
  await hf.deleteFile({ repo, path: "weights/tiny.bin", ...opts() });
  assert.equal(await hf.fileExists({ repo, path: "weights/tiny.bin", ...opts() }), false);
  const commits = [];
  for await (const c of hf.listCommits({ repo, ...opts() })) commits.push(c);
  assert.equal(commits.length, await hf.countCommits({ repo, ...opts() }));
  assert.equal(commits[commits.length - 1].oid, firstCommit);
  await hf.deleteBranch({ repo, branch: "dev", ...opts() });
  const refs2 = await call(hub, "GET", "/api/models/admin/tiny/refs");
  assert.deepEqual(refs2.json.branches.map((b) => b.name), ["main"]);
});

test("private repos look missing to others: 401 anonymous, 404 authenticated", async () => {
  const priv = { type: "model", name: "admin/secret" };
  await hf.createRepo({ repo: priv, private: true, ...opts() });
  await hf.uploadFiles({ repo: priv, ...opts(), useXet: false, files: [{ path: "a.txt", content: new Blob(["s"]) }] });
  const anon = await call(hub, "GET", "/api/models/admin/secret", { token: null });
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get("x-error-code"), "RepoNotFound");
  const other = await call(hub, "GET", "/admin/secret/resolve/main/a.txt", { token: bob });
  assert.equal(other.status, 404);
  assert.equal(other.headers.get("x-error-code"), "RepoNotFound");
  const missing = await call(hub, "GET", "/api/models/admin/does-not-exist", { token: bob });
  assert.equal(missing.status, other.status);
  assert.equal(await hf.repoExists({ repo: priv, hubUrl: hub.url, accessToken: bob }), false);
  assert.equal((await call(hub, "GET", "/admin/secret/resolve/main/a.txt")).text, "s");
  // bob may not write into admin's namespace, and may create his own repos
  await assert.rejects(hf.createRepo({ repo: { type: "model", name: "admin/bobs" }, hubUrl: hub.url, accessToken: bob }),
    (e) => e.statusCode === 403);
  await hf.createRepo({ repo: { type: "dataset", name: "bob/data" }, hubUrl: hub.url, accessToken: bob });
  const listed = [];
  for await (const m of hf.listModels({ hubUrl: hub.url, accessToken: bob })) listed.push(m.name);
  assert.ok(listed.includes("admin/tiny") && !listed.includes("admin/secret"));
});

test("listing with search, author and tag filters and Link pagination", async () => {
  const found = await call(hub, "GET", "/api/models?search=tin&author=admin");
  assert.deepEqual(found.json.map((m) => m.id), ["admin/tiny"]);
  const tagged = await call(hub, "GET", "/api/models?filter=tiny");
  assert.deepEqual(tagged.json.map((m) => m.id), ["admin/tiny"]);
  const page = await call(hub, "GET", "/api/models?limit=1");
  assert.equal(page.json.length, 1);
  assert.match(page.headers.get("link"), /^<http:\/\/127\.0\.0\.1:\d+\/api\/models\?limit=1&cursor=1>; rel="next"$/);
  const datasets = await call(hub, "GET", "/api/datasets", { token: bob });
  assert.deepEqual(datasets.json.map((d) => d.id), ["bob/data"]);
});

test("snapshotDownload and downloadFileToCacheDir fill a Hugging Face cache", async () => {
  const cacheDir = tmpDir("weft-cache-");
  try {
    const snap = await hf.snapshotDownload({ repo, cacheDir, ...opts() });
    const got = fs.readFileSync(path.join(snap, "weights/model.bin"));
    assert.equal(sha256(got), sha256(big));
    assert.equal(fs.readFileSync(path.join(snap, "config.json"), "utf8"), config.toString());
    assert.ok(fs.existsSync(path.join(cacheDir, "models--admin--tiny", "blobs", sha256(big))));
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("deleteRepo removes the repo", async () => {
  await hf.deleteRepo({ repo: { type: "dataset", name: "bob/data" }, hubUrl: hub.url, accessToken: bob });
  assert.equal(await hf.repoExists({ repo: { type: "dataset", name: "bob/data" }, hubUrl: hub.url, accessToken: bob }), false);
});
