// Shared helpers for the node integration tests: where things are, and deterministic data.
import { spawnSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const WEFT_BIN = process.env.WEFT_BIN;
export const WEFT_SRC = process.env.WEFT_SRC;
export const SHARED_DATA = process.env.WEFT_SHARED_DATA;
export const SANITIZE = process.env.WEFT_SANITIZE === "1";

if (!WEFT_BIN) throw new Error("WEFT_BIN is not set: run this test through ctest (make test)");

export function tmpDir(prefix = "weft-test-") {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// splitmix64: a small deterministic generator so every run tests the same bytes.
export function randomBytes(n, seed) {
  const out = new Uint8Array(n);
  let s = BigInt(seed) & 0xffffffffffffffffn;
  const M = 0xffffffffffffffffn;
  let i = 0;
  while (i < n) {
    s = (s + 0x9e3779b97f4a7c15n) & M;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    z ^= z >> 31n;
    for (let k = 0; k < 8 && i < n; k++, i++) out[i] = Number((z >> BigInt(8 * k)) & 0xffn);
  }
  return out;
}

// Fast pseudo-random bytes for large inputs (xorshift32 over 32-bit words).
export function fastRandomBytes(n, seed) {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, n);
}

export function runWeft(args, opts = {}) {
  const r = spawnSync(WEFT_BIN, args, { maxBuffer: 1 << 30, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

// Runs weft with `pieces` (Uint8Arrays) written one by one to its stdin.
export function runWeftWithInput(args, pieces) {
  return new Promise((resolve, reject) => {
    const child = spawn(WEFT_BIN, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out = [], err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    child.on("error", reject);
    child.on("close", (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    (async () => {
      for (const p of pieces) {
        if (!child.stdin.write(p)) await new Promise((r) => child.stdin.once("drain", r));
      }
      child.stdin.end();
    })().catch(reject);
  });
}
