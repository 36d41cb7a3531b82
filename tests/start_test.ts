// `npm start`, as a user runs it: the launcher with an embedded PostgreSQL of its own, then the seed's
// curl example, Ctrl-C, and a second start that finds the earlier task.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../prisma/testing.ts";
import { eventually, repoRoot } from "./_process.ts";

interface Launch {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | string>;
}

let dataDir: string;
let env: Record<string, string>;

async function launch(): Promise<Launch> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let rest = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    rest += chunk.toString("utf8");
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr!.on("data", () => {});
  let exitedEarly = false;
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      exitedEarly = true;
      resolve(code ?? signal ?? "?");
    }),
  );
  await eventually(() => lines.some((l) => l["msg"] === "TaskMaster is running") || exitedEarly, {
    timeoutMs: 180_000,
    what: "npm start to print where to look",
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${lines.slice(-25).map((l) => JSON.stringify(l)).join("\n")}`);
  });
  if (exitedEarly) throw new Error(`npm start exited early:\n${lines.slice(-25).map((l) => JSON.stringify(l)).join("\n")}`);
  return { child, lines, exited };
}

/** The command lines (argv) of every process below `pid`, children first (Linux: /proc). */
function descendants(pid: number): string[][] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const below = (parent: number): number[] =>
    [...parentOf].filter(([, ppid]) => ppid === parent).flatMap(([child]) => [child, ...below(child)]);
  return below(pid).flatMap((child) => {
    try {
      return [readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0").slice(0, -1)];
    } catch {
      return [];
    }
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "taskmaster-start-test-"));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its data folder.
  await chmod(dataDir, 0o755);
  env = {
    EMBEDDED_PG_DATA: join(dataDir, "postgres"),
    EMBEDDED_PG_PORT: String(await freePort()),
    SCHEDULER_PORT: String(await freePort()),
    COORDINATOR_PORT: String(await freePort()),
    WORKERS: "2",
    TASK_PROCESS_TIME: "300",
    // The dashboard's browser test builds web/dist in parallel; this test does not look at it.
    BUILD_DASHBOARD: "false",
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
  };
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start", () => {
  test("runs the whole system built, stops cleanly on Ctrl-C, and a second start finds the earlier task", async () => {
    const base = `http://127.0.0.1:${env["SCHEDULER_PORT"]}`;
    const first = await launch();
    const scheduled = await fetch(`${base}/schedule`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: "process-data", scheduled_at: new Date().toISOString() }),
    });
    expect(scheduled.status).toBe(200);
    const { task_id } = (await scheduled.json()) as { task_id: string };
    const done = await eventually(async () => {
      const s = (await (await fetch(`${base}/status?task_id=${task_id}`)).json()) as Record<string, string>;
      return s["completed_at"] ? s : null;
    }, { timeoutMs: 60_000, what: "the task to complete" });
    expect(done["started_at"]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // Both local workers register (the task may well have run before the second one was up).
    await eventually(async () => ((await (await fetch(`${base}/api/workers`)).json()) as unknown[]).length === 2, {
      timeoutMs: 30_000,
      what: "both workers listed by /api/workers",
    });

    // What runs: the built JavaScript on plain node, without tsx (the Dockerfile runs the same files).
    const built = (path: string) => join(repoRoot, ".build", path);
    const preload = pathToFileURL(built("scripts/_exit_with_launcher.js")).href;
    const taskmaster = descendants(first.child.pid!).filter((argv) => argv.some((arg) => /\/main\.[jt]s$/.test(arg)));
    expect(taskmaster.map((argv) => argv.slice(1)).sort()).toEqual([
      ["--import", preload, built("coordinator/main.js")],
      ["--import", preload, built("server/main.js")],
      ["--max-semi-space-size=2", built("worker/main.js")],
      ["--max-semi-space-size=2", built("worker/main.js")],
    ]);
    expect(taskmaster.every((argv) => argv[0] === process.execPath)).toBe(true);

    // Every pid the launcher's children reported, to check none survives the stop.
    const pids = new Set(first.lines.map((l) => l["pid"]).filter((p): p is number => typeof p === "number"));
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    await eventually(() => [...pids].every((pid) => !processAlive(pid)), { timeoutMs: 20_000, what: "every child to exit" });
    await expect(fetch(`${base}/api/stats`)).rejects.toThrow();

    const second = await launch();
    const again = (await (await fetch(`${base}/status?task_id=${task_id}`)).json()) as Record<string, string>;
    expect(again["completed_at"]).toBe(done["completed_at"]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 300_000);
});
