// worker/main.ts as a real process: settings, the ready line, SIGTERM, and no orphan when the parent dies.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "./testing.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

// Nothing listens on port 1: heartbeats fail fast, which must not keep the worker from serving.
const baseEnv = { ...process.env, LOG_FORMAT: "json", COORDINATOR: "127.0.0.1:1", HEARTBEAT_INTERVAL_MS: "200" };

function run(env: Record<string, string>, ipc = false) {
  const child = spawn(process.execPath, ["--import", "tsx", mainPath], {
    cwd: repoRoot,
    env: { ...baseEnv, ...env },
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  const out = { text: "", err: "" };
  child.stdout!.on("data", (c: Buffer) => (out.text += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (out.err += c.toString("utf8")));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "?")));
  const lines = () =>
    out.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ready = () => waitFor(() => lines().find((l) => l["msg"] === "ready"), "the ready line", 30_000);
  return { child, out, exited, lines, ready };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("worker/main.ts", () => {
  it("prints what is wrong with its settings and exits 1", async () => {
    const worker = run({ WORKER_ID: "0", POOL_SIZE: "many" });
    expect(await worker.exited).toBe(1);
    expect(worker.out.err).toMatch(/WORKER_ID="0": expected an integer from 1 to 4294967295/);
    expect(worker.out.err).toMatch(/POOL_SIZE="many"/);
  });

  it("logs ready with port, worker_id and address, and exits 0 on SIGTERM", async () => {
    const worker = run({ WORKER_ID: "4294967295", WORKER_ADDRESS: "worker-7" });
    // Signalled the moment the ready line arrives, as a supervisor may: the worker must already listen.
    worker.child.stdout!.on("data", (c: Buffer) => {
      if (c.toString("utf8").includes('"msg":"ready"')) worker.child.kill("SIGTERM");
    });
    const ready = await worker.ready();
    expect(ready).toMatchObject({ msg: "ready", worker_id: 4294967295 });
    expect(ready["address"]).toBe(`worker-7:${String(ready["port"])}`);
    expect(await worker.exited).toBe(0);
    expect(worker.lines().some((l) => l["msg"] === "stopped")).toBe(true);
  });

  it("exits when the parent's IPC channel closes", async () => {
    const worker = run({}, true);
    await worker.ready();
    worker.child.disconnect();
    expect(await worker.exited).toBe(0);
  });

  it("leaves no orphan when its parent is killed with SIGKILL", async () => {
    const parentScript = `
      const { fork } = require("node:child_process");
      const child = fork(${JSON.stringify(mainPath)}, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "pipe", "inherit", "ipc"] });
      child.stdout.on("data", (c) => { if (String(c).includes('"msg":"ready"')) console.log("CHILD " + child.pid); });
    `;
    const parent = spawn(process.execPath, ["-e", parentScript], { cwd: repoRoot, env: baseEnv, stdio: ["ignore", "pipe", "inherit"] });
    started.push(parent);
    let text = "";
    parent.stdout.on("data", (c: Buffer) => (text += c.toString("utf8")));
    const pid = Number(await waitFor(() => /CHILD (\d+)/.exec(text)?.[1], "the worker to be ready", 30_000));
    expect(alive(pid)).toBe(true);
    parent.kill("SIGKILL");
    await waitFor(() => !alive(pid), "the orphaned worker to exit", 30_000);
  });

  it("exits 1 when a handler module cannot be loaded", async () => {
    const worker = run({ HANDLER_MODULES: "./worker/testdata/no_such_module.ts" });
    expect(await worker.exited).toBe(1);
    expect(worker.lines().find((l) => l["msg"] === "cannot load HANDLER_MODULES")?.["error"]).toMatch(/no_such_module/);
  });

  it("advertises the handlers of HANDLER_MODULES", async () => {
    const worker = run({ HANDLER_MODULES: "./worker/testdata/greet_handlers.ts", SHELL_ALLOWLIST: "echo" });
    await worker.ready();
    const serving = worker.lines().find((l) => l["msg"] === "worker serving");
    expect(serving?.["handlers"]).toBe("greet,http,noop,shell,sleep");
  });
});
