// Runs one TaskMaster process for `npm start` and restarts it when it crashes.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "../shared/mod.ts";

/** What to run. */
export interface ChildSpec {
  /** Short name used in logs ("coordinator", "server"). */
  name: string;
  /** The executable (the Node binary) and its arguments: a `processCommand` (server/mod.ts). */
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
}

/** Options for {@linkcode supervise}. */
export interface SuperviseOptions {
  log: Logger;
  /** Gets every line the child writes; returns it parsed when it was a JSON object. */
  onLine(line: string, stream: "stdout" | "stderr"): Record<string, unknown> | undefined;
  /** Whether a parsed line is the process's own ready line. Default: `msg` is "ready". */
  isReady?: (line: Record<string, unknown>) => boolean;
  /** First restart delay; doubles while the child keeps crashing soon after start. Default 1000 ms. */
  restartDelayMs?: number;
  /** Longest restart delay. Default 15000 ms. */
  maxRestartDelayMs?: number;
  /** A child that ran this long before crashing restarts after the first delay again. Default 30000 ms. */
  stableAfterMs?: number;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
}

/** A supervised process. */
export interface Supervised {
  readonly name: string;
  /** Fields of the first `{"msg":"ready"}` line; rejects if the process exits before it. */
  readonly firstReady: Promise<Record<string, unknown>>;
  /** Current process id (undefined while waiting to restart). */
  pid(): number | undefined;
  /** Stops supervising, sends SIGTERM and resolves with how the process exited. */
  stop(): Promise<string>;
  /** SIGKILLs the process and every process of its group (its own children). */
  kill(): void;
  /** Sends `signal` (0: only probe) to what is left of the process group; true if any process got it. */
  signalGroup(signal: NodeJS.Signals | 0): boolean;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/**
 * Starts `file <args>` in a process group of its own with an IPC channel, relays its output, and
 * restarts it after a jittered, growing delay whenever it exits unless {@linkcode Supervised.stop}
 * asked it to. A process that exits before its first ready line is not restarted: `firstReady`
 * rejects with its last lines instead (a configuration error does not get better by retrying).
 */
export function supervise(spec: ChildSpec, options: SuperviseOptions): Supervised {
  const log = options.log;
  const random = options.random ?? Math.random;
  const firstDelay = options.restartDelayMs ?? 1000;
  const maxDelay = options.maxRestartDelayMs ?? 15_000;
  const stableAfter = options.stableAfterMs ?? 30_000;
  const isReady = options.isReady ?? ((line: Record<string, unknown>) => line["msg"] === "ready");

  let child: ChildProcess | undefined;
  let exited: Promise<string> = Promise.resolve("not running");
  let lastPgid: number | undefined;
  let stopping = false;
  let everReady = false;
  let crashesInRow = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const recent: string[] = [];

  let resolveReady!: (fields: Record<string, unknown>) => void;
  let rejectReady!: (error: Error) => void;
  const firstReady = new Promise<Record<string, unknown>>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  firstReady.catch(() => {}); // the caller awaits it; never an unhandled rejection

  const alive = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;

  const start = () => {
    const startedAt = Date.now();
    const current = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    child = current;
    lastPgid = current.pid;
    // Nothing is sent over the channel; it exists so the child notices when the launcher dies.
    current.channel?.unref();
    current.on("error", (error) => log.error(`${spec.name}: ${error.message}`, { child: spec.name }));
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: current[stream]!, crlfDelay: Infinity }).on("line", (line) => {
        recent.push(line);
        if (recent.length > 40) recent.shift();
        const parsed = options.onLine(line, stream);
        if (!parsed || !isReady(parsed)) return;
        if (!everReady) {
          everReady = true;
          resolveReady(parsed);
        } else {
          log.info(`${spec.name} is ready again`, { child: spec.name, pid: current.pid });
        }
      });
    }
    exited = new Promise((resolve) => {
      current.once("exit", (code, signal) => {
        resolve(describeExit(code, signal));
        if (stopping) return;
        if (!everReady) {
          // Let the last lines (often a stack trace) arrive before quoting them.
          setTimeout(() => {
            rejectReady(
              new Error(
                `${spec.name} exited (${describeExit(code, signal)}) before it was ready. Its last lines:\n  ` +
                  recent.slice(-20).join("\n  "),
              ),
            );
          }, 200);
          return;
        }
        crashesInRow = Date.now() - startedAt >= stableAfter ? 1 : crashesInRow + 1;
        const base = Math.min(maxDelay, firstDelay * 2 ** (crashesInRow - 1));
        const delay = Math.round(base * (0.75 + random() * 0.5));
        log.warn(`${spec.name} exited unexpectedly (${describeExit(code, signal)}); restarting it in ${delay} ms`, {
          child: spec.name,
          pid: current.pid,
          crashes_in_a_row: crashesInRow,
        });
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopping) return;
          start();
          log.info(`restarted ${spec.name}`, { child: spec.name, pid: child?.pid });
        }, delay);
      });
    });
  };

  start();

  const signalGroup = (signal: NodeJS.Signals | 0) => {
    if (lastPgid === undefined) return false;
    try {
      process.kill(-lastPgid, signal);
      return true;
    } catch {
      return false; // ESRCH: the group is empty
    }
  };

  return {
    name: spec.name,
    firstReady,
    pid: () => (alive(child) ? child.pid : undefined),
    stop: async () => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      if (alive(child)) child.kill("SIGTERM");
      return await exited;
    },
    kill: () => {
      if (!signalGroup("SIGKILL") && alive(child)) child.kill("SIGKILL");
    },
    signalGroup,
  };
}
