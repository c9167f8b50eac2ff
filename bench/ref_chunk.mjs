// The anchor for bench_chunk: @huggingface/xetchunk-wasm (the reference Xet chunker) on the
// same file, in memory. Prints GB/s (median of N runs) and the file hash to compare.
import fs from "node:fs";
import { getChunks, fileHash, hashToHex } from "@huggingface/xetchunk-wasm";

const [file, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const data = new Uint8Array(fs.readFileSync(file));
const speeds = [];
let chunks;
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  chunks = getChunks(data);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  speeds.push(data.length / s / 1e9);
}
speeds.sort((a, b) => a - b);
console.log(`reference chunk+hash: ${speeds[Math.floor(runs / 2)].toFixed(2)} GB/s median of ${runs}, ` +
  `${chunks.length} chunks, file hash ${hashToHex(fileHash(chunks))}`);
