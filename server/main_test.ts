import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, useTestDatabase, type TestDb } from "../prisma/testing.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("server/main.ts as a process", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await useTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it("`main.ts` logs ready with its port, starts WORKERS local workers, and on SIGTERM stops them and exits 0", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        SCHEDULER_PORT: `:${port}`,
        LOG_FORMAT: "json",
        WORKERS: "1",
        COORDINATOR: "127.0.0.1:1",
        WORKER_STOP_TIMEOUT_MS: "10000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Record<string, unknown>[] = [];
    let rest = "";
    const waiters = new Set<() => void>();
    child.stdout.on("data", (chunk: Buffer) => {
      rest += chunk.toString("utf8");
      let i: number;
      while ((i = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON
        }
        for (const w of waiters) w();
      }
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const waitFor = (predicate: (l: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such line; stderr: ${stderr}\n${JSON.stringify(lines.slice(-20))}`)), 30_000);
        const check = () => {
          const found = lines.find(predicate);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        check();
      });
    try {
      const ready = await waitFor((l) => l["msg"] === "ready" && l["worker_id"] === undefined);
      expect(ready["port"]).toBe(port);
      const workerReady = await waitFor((l) => l["msg"] === "ready" && typeof l["worker_id"] === "number");
      const workerPid = workerReady["pid"] as number;
      expect(alive(workerPid)).toBe(true);
      const stats = await fetch(`http://127.0.0.1:${port}/api/stats`);
      expect(stats.status).toBe(200);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(alive(workerPid)).toBe(false);
      expect(lines.some((l) => l["msg"] === "stopped" && l["service"] === "server")).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("`main.ts` exits 1 naming a bad setting", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: repoRoot,
      env: { ...process.env, SCHEDULER_PORT: "nope", WORKER_SCALER: "swarm" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain("SCHEDULER_PORT");
    expect(stderr).toContain("WORKER_SCALER");
  });
});
