// Starts a real `weft serve` on 127.0.0.1 with a fresh data directory, for the server tests.
// startHub() resolves to {url, token, data, stop(), user(name, role)}; token is the admin token
// printed on first start. Every test file stops what it starts (stop() in an after hook).
// With { log: true } the server keeps its request log (one line per request, hub.stderr()).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { WEFT_BIN, tmpDir } from "./env.mjs";

export async function startHub(extraArgs = [], { log = false } = {}) {
  const data = tmpDir("weft-hub-");
  // the background optimizer is off unless asked for: tests see the store as uploaded
  if (!extraArgs.some((a) => a.startsWith("--optimize") || a === "--no-optimize"))
    extraArgs = ["--optimize=off", ...extraArgs];
  const portFile = path.join(data, "port");
  const child = spawn(
    WEFT_BIN,
    ["serve", "--data", path.join(data, "d"), "--listen", "127.0.0.1:0", "--port-file", portFile,
     ...(log ? [] : ["--quiet"]), ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { err += d; });
  const exited = new Promise((resolve) => child.on("exit", (code, sig) => resolve({ code, sig })));
  const deadline = Date.now() + 30000;
  while (!/serving .* on http/.test(out)) {
    if (child.exitCode !== null) throw new Error(`weft serve exited early: ${err}`);
    if (Date.now() > deadline) throw new Error(`weft serve did not start: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(fs.readFileSync(portFile, "utf8").trim());
  const token = /token (hf_[A-Za-z0-9]+)/.exec(out)?.[1];
  const hub = {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    data: path.join(data, "d"),
    stderr: () => err,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const r = await exited;
      fs.rmSync(data, { recursive: true, force: true });
      return r;
    },
    // Creates a user (if needed) and a token for it through the CLI; returns the token.
    user(name, role = "write") {
      const env = { ...process.env, WEFT_HOME: hub.data };
      spawnSync(WEFT_BIN, ["user", "create", name], { env });
      const r = spawnSync(WEFT_BIN, ["token", "create", name, "--role", role], { env });
      const t = /hf_[A-Za-z0-9]+/.exec(r.stdout.toString())?.[0];
      if (!t) throw new Error(`token create failed: ${r.stderr}`);
      return t;
    },
    weft(args) {
      const r = spawnSync(WEFT_BIN, args, { env: { ...process.env, WEFT_HOME: hub.data } });
      return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
  };
  return hub;
}

// fetch with the token, returning {status, headers, text, json}.
export async function call(hub, method, urlPath, { token = hub.token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
    h["content-type"] = "application/json";
    body = JSON.stringify(body);
  }
  const r = await fetch(hub.url + urlPath, { method, headers: h, body });
  const buf = Buffer.from(await r.arrayBuffer());
  let json;
  try { json = JSON.parse(buf.toString()); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text: buf.toString(), bytes: buf, json };
}
