import { type ChildProcess, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import type { LogFields, Logger, LogLevel } from "../shared/mod.ts";
import type { ProcessCommand } from "./process_command.ts";
import { workerName } from "./_views.ts";
import {
  checkScaleRequest,
  parseWorkerName,
  WorkerScalingDisabledError,
  type KillResult,
  type ManagedWorker,
  type WorkerScaler,
} from "./worker_scaler.ts";

/** Options for {@linkcode createLocalWorkerScaler}. */
export interface LocalWorkerScalerOptions {
  /** What runs a worker: `processCommand("worker")` (the built worker/main.ts). */
  workerCommand: ProcessCommand;
  /** Working directory of the children (the repository root: HANDLER_MODULES paths are relative to it). */
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
  /**
   * Replacing workers that exit on their own: the delay before the first replacement (`initialMs`,
   * default 1000), doubling for each further exit in a row up to `maxMs` (default 30000), jittered
   * into its upper half; a worker that ran `resetAfterMs` (default 60000) starts the doubling over.
   */
  restartBackoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

interface Child {
  info: ManagedWorker;
  process: ChildProcess;
  /** `Date.now()` at spawn, to tell a crash loop from a worker that ran a while. */
  spawnedAt: number;
  /** Resolves after the exit was handled (row marked OFFLINE, logged). */
  exited: Promise<void>;
  seq: number;
}

/** A replacement waiting out its backoff. */
interface PendingReplacement {
  /** The worker that exited. */
  replaces: ManagedWorker;
  /** The replacement's `restarts`. */
  restarts: number;
  timer: ReturnType<typeof setTimeout>;
}

const LEVELS = new Set<LogLevel>(["debug", "info", "warn", "error"]);

/**
 * The delay before replacement number `restarts` (1-based) of workers exiting in a row:
 * `min(maxMs, initialMs * 2^(restarts-1))`, then a random point in its upper half, so workers that
 * crash together do not come back together. (The coordinator spaces task retries the same way.)
 */
function replacementDelayMs(restarts: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(restarts - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A {@linkcode WorkerScaler} that runs workers as child processes of this server:
 * `workerCommand` (`node .build/worker/main.js`) with an explicit WORKER_ID (a random uint32, so "Worker-<id>" names
 * a pid), COORDINATOR, JSON logs re-logged with worker_id, and an IPC channel: nothing is sent on it,
 * but when the server dies (even by SIGKILL) it closes and the worker drains and exits (worker/main.ts
 * listens for "disconnect"), so no orphan outlives the server.
 *
 * The count `scale` set holds, as a Kubernetes Deployment's does: a worker that exits on its own
 * (crash, poison task, out of memory, a signal from outside) is replaced, by a new worker with a new
 * id, after a jittered backoff (see `restartBackoff`). Workers stopped by `scale`, killed by `kill`
 * (the resilience demo: the count drops by one) or stopped by `stopAll` are not replaced. `stopAll`
 * is for shutdown: afterwards the scaler starts nothing (`scale` throws WorkerScalingDisabledError).
 */
export function createLocalWorkerScaler(options: LocalWorkerScalerOptions): WorkerScaler {
  const children = new Map<number, Child>();
  const pending = new Set<PendingReplacement>();
  const stopTimeoutMs = options.stopTimeoutMs ?? 40_000;
  const initialMs = options.restartBackoff?.initialMs ?? 1000;
  const maxMs = options.restartBackoff?.maxMs ?? 30_000;
  const resetAfterMs = options.restartBackoff?.resetAfterMs ?? 60_000;
  const random = options.random ?? Math.random;
  let seq = 0;
  /** Set by `stopAll` (shutdown), for good: nothing is started or replaced any more. */
  let closed = false;

  const relog = (child: Child, line: string, stream: "stdout" | "stderr") => {
    const log = options.log.child({ worker_id: child.info.id, pid: child.info.pid });
    if (!line.startsWith("{")) {
      if (!line.trim()) return;
      if (stream === "stderr") log.warn(line);
      else log.info(line);
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

  /**
   * Spawns one worker. It is in `children` from the moment it has a pid (before it is up), so a
   * concurrent `scale`, `kill` or `stopAll` sees it.
   */
  const start = async (replacing?: { replaces: ManagedWorker; restarts: number }): Promise<void> => {
    const id = newId();
    const proc = spawn(options.workerCommand.file, options.workerCommand.args, {
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
    if (proc.pid === undefined) {
      // Spawning failed (no such binary, no permission): 'error' follows.
      throw await new Promise<Error>((resolve) => proc.once("error", resolve));
    }
    const info: ManagedWorker = {
      id,
      name: workerName(id),
      pid: proc.pid,
      startedAt: new Date().toISOString(),
      ready: false,
      address: null,
      stopping: false,
      restarts: replacing?.restarts ?? 0,
    };
    let resolveExited!: () => void;
    const child: Child = {
      info,
      process: proc,
      spawnedAt: Date.now(),
      exited: new Promise((r) => (resolveExited = r)),
      seq: seq++,
    };
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
      // Asked to stop (scale down, kill, stopAll): the count already went down. Otherwise it exited
      // on its own, and the count must hold.
      if (!info.stopping && !closed) scheduleReplacement(child, how);
      void (options.onExit?.(id) ?? Promise.resolve())
        .catch((error: unknown) =>
          options.log.warn("could not mark an exited worker offline", { worker_id: id, error: String(error) }),
        )
        .finally(resolveExited);
    });
    if (replacing) {
      options.log.info("worker process started to replace one that exited", {
        worker_id: id,
        pid: info.pid,
        replaces: replacing.replaces.id,
        restarts: replacing.restarts,
      });
      options.activity?.("info", `Starting ${info.name} (pid ${info.pid}) to replace ${replacing.replaces.name}`);
    } else {
      options.log.info("worker process started", { worker_id: id, pid: info.pid });
      options.activity?.("info", `Starting ${info.name} (pid ${info.pid})`);
    }
    await new Promise<void>((resolve) => {
      proc.once("spawn", resolve);
      proc.once("exit", () => resolve());
    });
  };

  /** Replaces `child`, which exited on its own, after the backoff its run earned. */
  const scheduleReplacement = (child: Child, how: string) => {
    const ranMs = Date.now() - child.spawnedAt;
    const restarts = (ranMs >= resetAfterMs ? 0 : child.info.restarts) + 1;
    replaceLater(child.info, restarts, `${how} after ${ranMs} ms`);
  };

  const replaceLater = (replaces: ManagedWorker, restarts: number, why: string) => {
    const delayMs = replacementDelayMs(restarts, initialMs, maxMs, random);
    const replacement: PendingReplacement = {
      replaces,
      restarts,
      timer: setTimeout(() => {
        pending.delete(replacement);
        if (closed) return;
        start({ replaces, restarts }).catch((error: unknown) => {
          options.log.error("could not start a replacement worker; trying again", { replaces: replaces.id, error: String(error) });
          if (!closed) replaceLater(replaces, restarts + 1, `spawn failed: ${String(error)}`);
        });
      }, delayMs),
    };
    replacement.timer.unref();
    pending.add(replacement);
    options.log.warn("worker exited on its own; replacing it", { worker_id: replaces.id, why, delay_ms: delayMs, restarts });
    options.activity?.("error", `Replacing ${replaces.name} in ${(delayMs / 1000).toFixed(1)} s (it exited on its own: ${why})`);
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
      checkScaleRequest(count, closed);
      const current = running();
      // Replacements waiting out their backoff count: each stands for a worker.
      const waiting = [...pending];
      const have = current.length + waiting.length;
      if (count > have) {
        await Promise.all(Array.from({ length: count - have }, () => start()));
        return;
      }
      let excess = have - count;
      for (const replacement of waiting.reverse()) {
        if (excess === 0) break;
        clearTimeout(replacement.timer);
        pending.delete(replacement);
        excess--;
      }
      for (const child of current.slice(current.length - excess).reverse()) stop(child);
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
      closed = true;
      for (const replacement of pending) clearTimeout(replacement.timer);
      pending.clear();
      const all = [...children.values()];
      for (const child of all) stop(child);
      await Promise.all(all.map((c) => c.exited));
    },
  };
}
