// Upload through Xet with the official JS client (@huggingface/hub) to a running `weft serve`:
// total time, dominated by the client's own WebAssembly chunking and compression, and the bytes
// it posted to the CAS (xorbs and shards). bench/serve.sh adds the server's own request time.
//   node bench/xet_upload.mjs URL TOKEN FILE
import fs from "node:fs";
import * as hf from "@huggingface/hub";

const [url, token, file] = process.argv.slice(2);
const bytes = fs.statSync(file).size;
const rec = { posted: 0 };
const timedFetch = async (u, init = {}) => {
  const s = String(u);
  const cas = (init.method === "POST") && (s.includes("/v1/xorbs/") || s.includes("/v1/shards"));
  const r = await fetch(u, init);
  if (cas) {
    if (init.body && init.body.byteLength !== undefined) rec.posted += init.body.byteLength;
    else if (init.body && init.body.size !== undefined) rec.posted += init.body.size;
  }
  return r;
};
const opts = { hubUrl: url, accessToken: token };
const repo = { type: "model", name: `admin/xet-bench-${Date.now()}` };
await hf.createRepo({ repo, ...opts });
const t0 = performance.now();
await hf.uploadFiles({ repo, ...opts, fetch: timedFetch,
  files: [{ path: "model.bin", content: new Blob([fs.readFileSync(file)]) }] });
const total = (performance.now() - t0) / 1000;
const gb = (n, s) => (n / s / 1e9).toFixed(2);
console.log(`xet upload (JS client): ${gb(bytes, total)} GB/s end to end (${total.toFixed(1)} s for ${bytes} bytes); ` +
  `${rec.posted} bytes posted to the CAS`);
