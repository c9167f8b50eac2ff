// Fills a Hugging Face cache with the official JS client (@huggingface/hub, snapshotDownload)
// from a running hub, for tests/integration/client_cache.sh.
//   node cache_fill.mjs HUB_URL TOKEN CACHE_DIR                 makes the repos, downloads all
//   node cache_fill.mjs HUB_URL TOKEN CACHE_DIR TYPE REPO REV    downloads one snapshot again
// Makes model admin/cachetest with two revisions (branch "old": config v1, shared.bin,
// old-only.txt; "main": config v2, shared.bin) and dataset admin/cachedata, downloads all three
// snapshots into CACHE_DIR and prints {"old": sha, "main": sha, "dataset": sha}.
import * as hf from "@huggingface/hub";

const [hubUrl, accessToken, cacheDir, type, name, revision] = process.argv.slice(2);
const opts = { hubUrl, accessToken };
const sha = (p) => p.split("/").pop();
if (type) {
  const snap = await hf.snapshotDownload({ repo: { type, name }, revision, cacheDir, ...opts });
  console.log(JSON.stringify({ [revision]: sha(snap) }));
  process.exit(0);
}
const model = { type: "model", name: "admin/cachetest" };
const dataset = { type: "dataset", name: "admin/cachedata" };

// 300 KiB of deterministic bytes with zeros in them: binary, so it goes through LFS.
const shared = new Uint8Array(300 * 1024);
for (let i = 0; i < shared.length; i++) shared[i] = (i * 2654435761) >>> 24 & (i % 7 ? 0xff : 0);

await hf.createRepo({ repo: model, ...opts });
await hf.uploadFiles({
  repo: model, ...opts, useXet: false, commitTitle: "v1",
  files: [
    { path: "config.json", content: new Blob(['{"v":1}']) },
    { path: "weights/shared.bin", content: new Blob([shared]) },
    { path: "old-only.txt", content: new Blob(["only in the old revision\n"]) },
  ],
});
await hf.createBranch({ repo: model, branch: "old", ...opts });
await hf.commit({
  repo: model, ...opts, useXet: false, title: "v2",
  operations: [
    { operation: "addOrUpdate", path: "config.json", content: new Blob(['{"v":2,"more":true}']) },
    { operation: "delete", path: "old-only.txt" },
  ],
});
await hf.createRepo({ repo: dataset, ...opts });
await hf.uploadFiles({
  repo: dataset, ...opts, useXet: false,
  files: [{ path: "data/train.csv", content: new Blob(["a,b\n1,2\n3,4\n"]) }],
});

const snapOld = await hf.snapshotDownload({ repo: model, revision: "old", cacheDir, ...opts });
const snapMain = await hf.snapshotDownload({ repo: model, revision: "main", cacheDir, ...opts });
const snapData = await hf.snapshotDownload({ repo: dataset, cacheDir, ...opts });
console.log(JSON.stringify({ old: sha(snapOld), main: sha(snapMain), dataset: sha(snapData) }));
