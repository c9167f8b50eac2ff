// 32 concurrent downloads (whole files and ranges) while 4 uploads run through the JS client:
// no errors, every byte verified.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import * as hf from "@huggingface/hub";
import { fastRandomBytes, SANITIZE } from "./lib/env.mjs";
import { startHub } from "./lib/hub.mjs";

let hub;
before(async () => { hub = await startHub(); });
after(async () => { if (hub) await hub.stop(); });

const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");

test("32 concurrent downloads beside 4 concurrent uploads", async () => {
  const opts = { hubUrl: hub.url, accessToken: hub.token };
  const mib = SANITIZE ? 4 : 24;
  const files = [0, 1, 2].map((i) => Buffer.from(fastRandomBytes((mib << 20) + i * 12345, 100 + i)));
  const repo = { type: "model", name: "admin/load" };
  await hf.createRepo({ repo, ...opts });
  await hf.uploadFiles({ repo, ...opts, useXet: false,
    files: files.map((b, i) => ({ path: `f${i}.bin`, content: new Blob([b]) })) });

  const downloads = Array.from({ length: 32 }, async (_, k) => {
    const i = k % files.length;
    const want = files[i];
    if (k % 2 === 0) {
      const r = await fetch(`${hub.url}/admin/load/resolve/main/f${i}.bin`,
        { headers: { authorization: `Bearer ${hub.token}` } });
      assert.equal(r.status, 200);
      assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(want));
    } else {
      const a = (k * 7919 * 1024) % (want.length - 100000);
      const r = await fetch(`${hub.url}/admin/load/resolve/main/f${i}.bin`,
        { headers: { authorization: `Bearer ${hub.token}`, range: `bytes=${a}-${a + 99999}` } });
      assert.equal(r.status, 206);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), want.subarray(a, a + 100000));
    }
  });
  const uploads = Array.from({ length: 4 }, async (_, u) => {
    const up = { type: "model", name: `admin/up${u}` };
    await hf.createRepo({ repo: up, ...opts });
    const body = Buffer.from(fastRandomBytes((mib << 20) + u, 500 + u));
    await hf.uploadFiles({ repo: up, ...opts, useXet: false, files: [{ path: "w.bin", content: new Blob([body]) }] });
    const r = await fetch(`${hub.url}/admin/up${u}/resolve/main/w.bin`);
    assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(body));
  });
  const results = await Promise.allSettled([...downloads, ...uploads]);
  const failed = results.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 0, failed.map((f) => String(f.reason)).join("\n"));
});
