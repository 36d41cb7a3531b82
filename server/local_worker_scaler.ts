import { type ChildProcess, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { LogFields, Logger, LogLevel } from "../shared/mod.ts";
import { workerName } from "./_views.ts";
import { parseWorkerName, type KillResult, type ManagedWorker, type WorkerScaler } from "./worker_scaler.ts";

/** Options for {@linkcode createLocalWorkerScaler}. */
export interface LocalWorkerScalerOptions {
  /** The worker's entry file (`<repo>/worker/main.ts`). */
  workerEntry: string;
  /** Working directory of the children (the repository root, where `tsx` resolves). */
  cwd: string;
  /** What workers connect to (their COORDINATOR). */
  coordinator: string;
  /** Environment the children inherit (POOL_SIZE, TASK_PROCESS_TIME, ...). */
  env: Record<string, string | undefined>;
  log: Logger;
  /** Called once a child exited, for any reason (the server marks its workers row OFFLINE here). */
  onExit?: (id: number) => Promise<void>;
  /** Whether the database knows worker `id` (for kill's "not_managed"). */
  workerExists?: (id: number) => Promise<boolean>;
  /** Adds a line to the activity log. */
  activity?: (level: "info" | "success" | "error", msg: string) => void;
  /** How long a SIGTERM'd worker may drain before SIGKILL. Default 40000 (worker DRAIN_TIMEOUT_MS 30000 + margin). */
  stopTimeoutMs?: number;
  /** The Node binary. Default `process.execPath`. */
  nodePath?: string;
}

interface Child {
  info: ManagedWorker;
  process: ChildProcess;
  /** Resolves after the exit was handled (row marked OFFLINE, logged). */
  exited: Promise<void>;
  seq: number;
}

const LEVELS = new Set<LogLevel>(["debug", "info", "warn", "error"]);

/**
 * A {@linkcode WorkerScaler} that runs workers as child processes of this server:
 * `node --import tsx <worker/main.ts>` with an explicit WORKER_ID (a random uint32, so "Worker-<id>" names
 * a pid), COORDINATOR, JSON logs re-logged with worker_id, and an IPC channel: nothing is sent on it,
 * but when the server dies (even by SIGKILL) it closes and the worker drains and exits (worker/main.ts
 * listens for "disconnect"), so no orphan outlives the server.
 */
export function createLocalWorkerScaler(options: LocalWorkerScalerOptions): WorkerScaler {
  const children = new Map<number, Child>();
  const stopTimeoutMs = options.stopTimeoutMs ?? 40_000;
  let seq = 0;

  const relog = (child: Child, line: string, stream: "stdout" | "stderr") => {
    const log = options.log.child({ worker_id: child.info.id, pid: child.info.pid });
    if (!line.startsWith("{")) {
      if (line.trim()) (stream === "stderr" ? log.warn : log.info)(line);
      return;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      log.info(line);
      return;
    }
    const { level, msg, time: _time, worker_id: _id, ...rest } = parsed;
    const fields: LogFields = {};
    for (const [k, v] of Object.entries(rest)) {
      fields[k] = v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v);
    }
    const lvl = LEVELS.has(level as LogLevel) ? (level as LogLevel) : "info";
    log[lvl](typeof msg === "string" ? msg : "(worker log line without msg)", fields);
    if (msg === "ready" && !child.info.ready) {
      child.info.ready = true;
      child.info.address = typeof parsed["address"] === "string" ? parsed["address"] : null;
      options.activity?.("info", `${child.info.name} process ready${child.info.address ? ` at ${child.info.address}` : ""}`);
    }
  };

  const pipeLines = (child: Child, stream: NodeJS.ReadableStream | null, name: "stdout" | "stderr") => {
    if (!stream) return;
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      rest += chunk.toString("utf8");
      let i: number;
      while ((i = rest.indexOf("\n")) >= 0) {
        relog(child, rest.slice(0, i), name);
        rest = rest.slice(i + 1);
      }
    });
    stream.on("end", () => {
      if (rest) relog(child, rest, name);
      rest = "";
    });
  };

  const newId = () => {
    for (;;) {
      const id = randomInt(1, 0x1_0000_0000);
      if (!children.has(id)) return id;
    }
  };

  const start = async (): Promise<void> => {
    const id = newId();
    const proc = spawn(options.nodePath ?? process.execPath, ["--import", "tsx", options.workerEntry], {
      cwd: options.cwd,
      env: {
        ...options.env,
        WORKER_ID: String(id),
        COORDINATOR: options.coordinator,
        // Several workers on one host: each takes a random port.
        WORKER_PORT: "",
        LOG_FORMAT: "json",
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    await new Promise<void>((resolve, reject) => {
      proc.once("spawn", resolve);
      proc.once("error", reject);
    });
    const info: ManagedWorker = {
      id,
      name: workerName(id),
      pid: proc.pid!,
      startedAt: new Date().toISOString(),
      ready: false,
      address: null,
      stopping: false,
    };
    let resolveExited!: () => void;
    const child: Child = { info, process: proc, exited: new Promise((r) => (resolveExited = r)), seq: seq++ };
    children.set(id, child);
    pipeLines(child, proc.stdout, "stdout");
    pipeLines(child, proc.stderr, "stderr");
    proc.on("error", (error) => options.log.error("worker process error", { worker_id: id, error: error.message }));
    proc.once("exit", (code, signal) => {
      children.delete(id);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const expected = info.stopping && (code === 0 || signal === "SIGTERM");
      options.log[expected ? "info" : "warn"]("worker process exited", { worker_id: id, pid: info.pid, code, signal });
      options.activity?.(expected ? "info" : "error", `${info.name} process exited (${how})`);
      void (options.onExit?.(id) ?? Promise.resolve())
        .catch((error: unknown) =>
          options.log.warn("could not mark an exited worker offline", { worker_id: id, error: String(error) }),
        )
        .finally(resolveExited);
    });
    options.log.info("worker process started", { worker_id: id, pid: info.pid });
    options.activity?.("info", `Starting ${info.name} (pid ${info.pid})`);
  };

  const stop = (child: Child) => {
    if (child.info.stopping) return;
    child.info.stopping = true;
    child.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (children.has(child.info.id)) {
        options.log.warn("worker did not stop in time; killing it", { worker_id: child.info.id, timeout_ms: stopTimeoutMs });
        child.process.kill("SIGKILL");
      }
    }, stopTimeoutMs);
    timer.unref();
    void child.exited.then(() => clearTimeout(timer));
  };

  const running = () => [...children.values()].filter((c) => !c.info.stopping).sort((a, b) => a.seq - b.seq);

  return {
    kind: "local",
    scale: async (count) => {
      if (!Number.isInteger(count) || count < 0) {
        throw new RangeError(`Cannot scale as 'count' must be a non-negative integer: current value is ${count}`);
      }
      const current = running();
      if (count > current.length) {
        await Promise.all(Array.from({ length: count - current.length }, () => start()));
      } else {
        for (const child of current.slice(count).reverse()) stop(child);
      }
    },
    kill: async (name): Promise<KillResult> => {
      const id = parseWorkerName(name);
      if (id === null) return "not_found";
      const child = children.get(id);
      if (!child) return (await options.workerExists?.(id)) ? "not_managed" : "not_found";
      child.info.stopping = true;
      options.log.warn("killing worker process (SIGKILL)", { worker_id: id, pid: child.info.pid });
      options.activity?.("error", `Killing ${child.info.name} (SIGKILL)`);
      child.process.kill("SIGKILL");
      await child.exited;
      return "killed";
    },
    list: () => [...children.values()].sort((a, b) => a.seq - b.seq).map((c) => ({ ...c.info })),
    stopAll: async () => {
      const all = [...children.values()];
      for (const child of all) stop(child);
      await Promise.all(all.map((c) => c.exited));
    },
  };
}

/** `<repo>/worker/main.ts` and `<repo>`, for a server started from this repository. */
export function defaultWorkerLocation(): { workerEntry: string; cwd: string } {
  return {
    workerEntry: fileURLToPath(new URL("../worker/main.ts", import.meta.url)),
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  };
}
