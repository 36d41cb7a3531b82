import { type Logger, unixSeconds } from "../shared/mod.ts";
import type { AttemptRef, ReportOutcome, TaskReporter } from "./coordinator_link.ts";
import { isNonRetryable, type TaskContext, type TaskHandler } from "./handler.ts";

/** One attempt of a task, as the coordinator dispatched it. */
export interface PoolTask {
  taskId: string;
  /** 1-based; 0 when a seed coordinator did not send one (reports then carry none either). */
  attempt: number;
  /** The command; picks the handler. */
  command: string;
  /** The payload as JSON text, `""` = none. */
  payloadJson: string;
  /** How long the attempt may run, ms; 0 = the pool's default. */
  timeoutMs: number;
  /**
   * The coordinator counts this attempt as started from its dispatch (it sends this for first
   * attempts), so it may run before its STARTED is recorded. Absent or false: it waits for that.
   */
  startOnArrival?: boolean;
}

/**
 * What became of a submitted attempt: `accepted` (queued or running now), `duplicate` (this task and
 * attempt is already held or was run lately: nothing new happens), `draining` (the pool takes no new
 * work), `full` (the wait queue is at its limit).
 */
export type SubmitOutcome = "accepted" | "duplicate" | "draining" | "full";

/** Options for {@linkcode createTaskPool}. */
export interface TaskPoolOptions {
  /** Attempts run at once (POOL_SIZE). More wait in a queue, first in first out. */
  size: number;
  /** Timeout of an attempt whose task sets none, ms (TASK_TIMEOUT_MS). */
  defaultTimeoutMs: number;
  /** The handler of a command (a registry with a fallback: never fails). */
  resolveHandler: (command: string) => TaskHandler;
  /** Where STARTED / progress / COMPLETE / FAILED go. */
  reporter: TaskReporter;
  /** Put on every log line. */
  workerId: number;
  logger: Logger;
  /** How long a handler may keep running after its signal aborted before it is abandoned, ms. Default 2000. */
  abandonGraceMs?: number;
  /** Most attempts waiting for a slot; more are refused (`full`). Default 1000. */
  maxQueued?: number;
  /** Least time between two progress reports of one attempt, ms. Default 250 (4 a second). */
  progressIntervalMs?: number;
  /** Largest `result_json` sent, bytes; a bigger result fails the attempt. Default 1 MiB. */
  maxResultBytes?: number;
  /** The clock for report times. Default `() => new Date()`. */
  now?: () => Date;
}

/** Runs dispatched attempts in a fixed number of slots and reports what happens to each. */
export interface TaskPool {
  /** Takes an attempt; idempotent on `taskId` + `attempt`. */
  submit(task: PoolTask): SubmitOutcome;
  /** Slots (POOL_SIZE). */
  readonly size: number;
  /** Attempts held: waiting or running. */
  readonly inFlight: number;
  /** Attempts running in a slot. */
  readonly running: number;
  /** Every attempt not yet over: waiting, running, or with its reports still being sent. */
  holding(): { taskId: string; attempt: number }[];
  /** True once {@linkcode TaskPool.stopAccepting} or {@linkcode TaskPool.drain} was called. */
  readonly draining: boolean;
  /** Refuses new attempts from now on. */
  stopAccepting(): void;
  /**
   * Stops accepting and waits until every held attempt finished and its reports were settled, for up to
   * `timeoutMs`. Resolves true when all did, false when time ran out (the rest is still running).
   */
  drain(timeoutMs: number): Promise<boolean>;
  /**
   * Drops waiting attempts and aborts running ones with `reason` (handlers that ignore it are abandoned
   * after the grace). Nothing more is reported for them: the coordinator requeues them.
   */
  abortAll(reason: string): void;
  /**
   * Cancels one attempt (`attempt` 0 = whichever this task has): drops it if waiting, aborts its
   * handler if running (abandoned after the grace if it ignores the signal). Nothing more is reported
   * for it. Returns false when the pool does not hold it.
   */
  cancel(taskId: string, attempt: number, reason: string): boolean;
}

/** Abort reason when an attempt's timeout passed (the name `AbortSignal.timeout()` uses). */
function timeoutReason(ms: number): Error {
  const error = new Error(`timed out after ${ms} ms`);
  error.name = "TimeoutError";
  return error;
}

/** Abort reason when the coordinator said the attempt is no longer current. */
function staleReason(): Error {
  const error = new Error("the coordinator no longer considers this attempt current");
  error.name = "StaleAttemptError";
  return error;
}

/** Abort reason when the coordinator cancelled the attempt (the task was cancelled or moved). */
function cancelReason(reason: string): Error {
  const error = new Error(reason);
  error.name = "AttemptCancelledError";
  return error;
}

/** Abort reason when the worker stops before the attempt finished. */
function shutdownReason(reason: string): Error {
  const error = new Error(reason);
  error.name = "WorkerShutdownError";
  return error;
}

interface Entry {
  key: string;
  task: PoolTask;
  controller: LazyAbort;
  /** True once the attempt left the pool and its reports are settled ({@linkcode TaskPool.drain} waits for it). */
  done: boolean;
  /** Called when it is done: made only while a drain waits. */
  waiters: (() => void)[] | undefined;
  running: boolean;
  /** Whether the handler waits for STARTED's answer (decided on arrival; see runAttempt). */
  gated: boolean;
}

/** How a handler's run ended. */
type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

type Outcome =
  | { kind: "complete"; resultJson: string }
  | { kind: "failed"; error: string; notRetryable: boolean }
  | { kind: "dropped" };

const MAX_ERROR_CHARS = 2000;
/** How long a first attempt's handler runs before its STARTED is sent, ms. */
const STARTED_DELAY_MS = 25;
/** How often the pool notes that its event loop runs, and the silence that counts as a stall, ms. */
const TICK_MS = 200;
const STALL_MS = 1000;
const RECENT_LIMIT = 2048;

/** The key of an attempt in the pool: `${taskId}/${attempt}`. */
export function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}/${attempt}`;
}

/**
 * Creates a pool of `options.size` slots. For each attempt: reports STARTED (unix seconds) before the
 * handler runs, progress throttled to one report per `progressIntervalMs` (always the final value), then
 * COMPLETE with the result as JSON or FAILED with the error (`not_retryable` for a
 * {@linkcode NonRetryableError} or a payload that is not JSON). The handler's signal aborts at the
 * attempt's timeout (FAILED "timed out") or when a report answers stale (nothing more is reported); a
 * handler that ignores it is abandoned after `abandonGraceMs`, so a slot is never held for ever.
 */
export function createTaskPool(options: TaskPoolOptions): TaskPool {
  if (!Number.isInteger(options.size) || options.size < 1) {
    throw new RangeError(`Cannot create task pool as 'size' must be a positive integer: current value is ${options.size}`);
  }
  if (!Number.isInteger(options.defaultTimeoutMs) || options.defaultTimeoutMs < 1) {
    throw new RangeError(
      `Cannot create task pool as 'defaultTimeoutMs' must be a positive integer: current value is ${options.defaultTimeoutMs}`,
    );
  }
  const graceMs = options.abandonGraceMs ?? 2000;
  const maxQueued = options.maxQueued ?? 1000;
  const progressIntervalMs = options.progressIntervalMs ?? 250;
  const maxResultBytes = options.maxResultBytes ?? 1024 * 1024;
  const now = options.now ?? (() => new Date());
  const { reporter } = options;
  const poolLog = options.logger.child({ worker_id: options.workerId });

  /** Attempts in the pool (waiting or running), by key. */
  const held = new Map<string, Entry>();
  /** Attempts whose life has not ended: held, or out of their slot with reports still going. */
  const active = new Set<Entry>();
  const queue: Entry[] = [];
  /** Keys of attempts (attempt > 0) that left the pool lately, oldest first, for idempotent submits. */
  const recent = new Set<string>();
  let running = 0;
  let draining = false;

  // A process that was paused (SIGSTOP, a frozen VM, a starved CPU) may find dispatches waiting in
  // its sockets that their coordinator has since given up on and taken back. So a first attempt
  // that arrives while the event loop has not ticked for STALL_MS waits for its STARTED's answer
  // (stale for a taken-back attempt: it never runs) instead of starting at once.
  let lastTick = performance.now();
  setInterval(() => {
    lastTick = performance.now();
  }, TICK_MS).unref();
  const stalledLately = () => performance.now() - lastTick > STALL_MS;

  // The same keys in arrival order, a ring: the oldest is dropped by index (a Set's first entry is
  // found by walking past the holes its deletions left, which showed in profiles).
  const recentOrder: string[] = new Array<string>(RECENT_LIMIT);
  let recentNext = 0;
  function remember(key: string) {
    if (recent.has(key)) return;
    const oldest = recentOrder[recentNext];
    if (oldest !== undefined) recent.delete(oldest);
    recentOrder[recentNext] = key;
    recentNext = (recentNext + 1) % RECENT_LIMIT;
    recent.add(key);
  }

  // Not re-entered: an attempt whose handler returns at once frees its slot (release → pump) before
  // runAttempt first awaits, and the loop below starts the next one, instead of a nested call per
  // attempt (which a long queue of such attempts would stack up).
  let pumping = false;
  function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (running < options.size && queue.length > 0) {
        const entry = queue.shift()!;
        entry.running = true;
        running++;
        void runAttempt(entry);
      }
    } finally {
      pumping = false;
    }
  }

  /** The attempt's life in the pool is over (it left its slot or the queue, its reports are settled). */
  function finish(entry: Entry) {
    if (entry.done) return;
    entry.done = true;
    active.delete(entry);
    const waiters = entry.waiters;
    entry.waiters = undefined;
    if (waiters) for (const wake of waiters) wake();
  }

  /** Resolves once `entry` is {@linkcode finish}ed. */
  function finished(entry: Entry): Promise<void> {
    return entry.done ? Promise.resolve() : new Promise((resolve) => (entry.waiters ??= []).push(resolve));
  }

  /** Frees the slot of `entry` (once) and starts the next waiting attempt. */
  function release(entry: Entry) {
    if (held.get(entry.key) !== entry) return;
    held.delete(entry.key);
    if (entry.task.attempt > 0) remember(entry.key);
    if (entry.running) running--;
    pump();
  }

  /** Runs one attempt and reports it; never rejects (a bug in the pool is logged), and finishes the entry. */
  async function runAttempt(entry: Entry): Promise<void> {
    try {
      await attemptLife(entry);
    } catch (error) {
      // attemptLife handles handler errors itself; this is a bug in the pool, logged rather than crashing.
      poolLog.error("task pool error", { task_id: entry.task.taskId, attempt: entry.task.attempt, error: String(error) });
    } finally {
      finish(entry);
    }
  }

  async function attemptLife(entry: Entry): Promise<void> {
    const { task, controller } = entry;
    const ref: AttemptRef = { taskId: task.taskId, attempt: task.attempt };
    // The attempt's logger, made when a line is written or the handler reads `ctx.log` (most never do).
    let attemptLog: Logger | undefined;
    const log = () => (attemptLog ??= poolLog.child({ task_id: task.taskId, attempt: task.attempt, command: task.command }));
    const markStale = () => {
      controller.abort(staleReason());
    };

    // STARTED goes out when this attempt waits for it (below), or once its handler has run for
    // STARTED_DELAY_MS or reports progress; a quicker first attempt sends none: its COMPLETE or
    // FAILED carries its start time instead (one report, not two, for most short tasks).
    const startedAt = now();
    let started: Promise<ReportOutcome> | undefined;
    const sendStarted = (): Promise<ReportOutcome> =>
      // (A first attempt's handler is already running when its STARTED goes: say since when.)
      (started ??= reporter.started(ref, unixSeconds(startedAt), entry.gated ? undefined : startedAt.getTime()).then((outcome) => {
        if (outcome === "stale") markStale();
        return outcome;
      }));
    // Progress reports go out once STARTED was accepted; the throttle is made at the handler's first
    // progress call (most handlers make none).
    let progress: ProgressThrottle | undefined;
    const onProgress = (percent: number) => {
      const startedOutcome = sendStarted();
      progress ??= createProgressThrottle({
        send: (value) =>
          reporter.progress(ref, value).then((outcome) => {
            if (outcome === "stale") markStale();
            return outcome;
          }),
        intervalMs: progressIntervalMs,
        ready: startedOutcome.then((outcome) => outcome === "accepted"),
      });
      progress.update(percent);
    };

    // A retry runs only once the coordinator has recorded its STARTED: an attempt that crashes its
    // worker is then known to have started (it counts against max_attempts), and a stale or
    // cancelled attempt never runs at all. A first attempt (1) sent with `start_on_arrival` starts at
    // once: its coordinator counts it as started from the moment it sent it, so a crash is charged
    // all the same, and a first attempt cannot be stale yet (if its STARTED or its end is answered
    // stale after all, the handler's signal aborts or its result is dropped). One from a coordinator
    // that does not say so (an older TaskMaster, which would not charge the crash) waits, as does a
    // seed coordinator's dispatch (attempt 0), and so does a first attempt that arrived just after this
    // process stalled (see stalledLately).
    if (entry.gated) {
      const startedOutcome = await sendStarted();
      if (startedOutcome !== "accepted") {
        log().info("not run: STARTED was not accepted", { outcome: startedOutcome });
        progress?.stop();
        release(entry);
        return;
      }
    }
    if (controller.aborted) {
      // Cancelled (or the worker is stopping) while STARTED was on its way: do not start it now.
      progress?.stop();
      release(entry);
      return;
    }
    if (poolLog.enabled("debug")) log().debug("task started");
    const handlerStart = performance.now();
    const run = execute(entry, log, onProgress, handlerStart);
    let outcome: Outcome;
    if (run instanceof Promise) {
      // The handler runs on: its STARTED goes once it has run STARTED_DELAY_MS, unless it ends first
      // (a handler that returned at once needed no timer at all).
      const startedTimer = started ? undefined : setTimeout(() => void sendStarted(), Math.max(0, STARTED_DELAY_MS - (performance.now() - handlerStart)));
      outcome = await run;
      clearTimeout(startedTimer);
    } else {
      outcome = run;
    }
    release(entry);
    if (outcome.kind === "dropped") {
      progress?.stop();
      return;
    }
    // Its end is reported after its STARTED, if one was sent, was accepted (one attempt's reports
    // stay in order).
    if (started) {
      const startedOutcome = await started;
      if (startedOutcome !== "accepted") {
        log().info("ran, but its STARTED was not accepted: nothing more reported", { outcome: startedOutcome });
        progress?.stop();
        return;
      }
      await progress?.flush();
    } else {
      progress?.stop();
    }
    if (controller.aborted && controller.reason instanceof Error && controller.reason.name === "StaleAttemptError") {
      return; // a progress report found the attempt stale while we flushed
    }
    const at = unixSeconds(now());
    const startedAtMs = started ? undefined : startedAt.getTime();
    if (outcome.kind === "complete") {
      if (poolLog.enabled("debug")) log().debug("task completed");
      await reporter.completed(ref, outcome.resultJson, at, startedAtMs);
    } else {
      log().warn("task failed", { error: outcome.error, not_retryable: outcome.notRetryable });
      await reporter.failed(ref, outcome.error, outcome.notRetryable, at, startedAtMs);
    }
  }

  /**
   * Runs the handler under the attempt's timeout (counted from `handlerStart`, `performance.now()` when
   * the attempt began to run). A handler that returns without a promise (or
   * throws) is over at once, and so is this: its outcome is returned, with no timer or promise made.
   * Otherwise the promise settles by the end of the grace after an abort at the latest.
   */
  function execute(entry: Entry, log: () => Logger, onProgress: (percent: number) => void, handlerStart: number): Outcome | Promise<Outcome> {
    const { task, controller } = entry;
    let payload: unknown;
    if (task.payloadJson !== "") {
      try {
        payload = JSON.parse(task.payloadJson);
      } catch (error) {
        return {
          kind: "failed",
          error: `payload_json is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
          notRetryable: true,
        };
      }
    }
    const handler = options.resolveHandler(task.command);
    const timeoutMs = Math.min(task.timeoutMs > 0 ? task.timeoutMs : options.defaultTimeoutMs, 2_147_483_647);
    const ctx = new AttemptContext(task, payload, controller, onProgress, log);
    let result: unknown;
    try {
      result = handler.run(ctx);
    } catch (error) {
      return outcomeOf({ ok: false, error }, controller, log, timeoutMs);
    }
    if (!isThenable(result)) return outcomeOf({ ok: true, value: result }, controller, log, timeoutMs);
    return settle(result, controller, log, timeoutMs, timeoutMs - (performance.now() - handlerStart));
  }

  /** Waits for a handler's promise, under its timeout (`leftMs` of `timeoutMs` remain) and the grace after an abort. */
  async function settle(result: PromiseLike<unknown>, controller: LazyAbort, log: () => Logger, timeoutMs: number, leftMs: number): Promise<Outcome> {
    const timeout = setTimeout(() => controller.abort(timeoutReason(timeoutMs)), Math.max(0, leftMs));
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    // Settles with the handler's outcome, or "abandoned" once the grace after an abort ran out. (One
    // promise, not a race of two: this runs for every task.)
    const settled = await new Promise<Settled | "abandoned">((resolve) => {
      Promise.resolve(result).then((value) => resolve({ ok: true, value }), (error: unknown) => resolve({ ok: false, error }));
      controller.onAbort(() => {
        graceTimer = setTimeout(() => resolve("abandoned"), graceMs);
      });
    });
    clearTimeout(timeout);
    clearTimeout(graceTimer);
    return outcomeOf(settled, controller, log, timeoutMs);
  }

  /** What a handler's run (or its abandonment) means for the attempt. */
  function outcomeOf(settled: Settled | "abandoned", controller: LazyAbort, log: () => Logger, timeoutMs: number): Outcome {
    if (controller.aborted) {
      const reason: unknown = controller.reason;
      const reasonName = reason instanceof Error ? reason.name : "";
      if (settled === "abandoned") {
        log().warn("handler ignored its abort signal: abandoned, slot freed", { reason: reasonName, grace_ms: graceMs });
      }
      if (reasonName === "TimeoutError") {
        return { kind: "failed", error: `task timed out after ${timeoutMs} ms`, notRetryable: false };
      }
      log().info("task aborted", { reason: reason instanceof Error ? reason.message : String(reason) });
      return { kind: "dropped" };
    }
    if (settled === "abandoned") return { kind: "dropped" }; // unreachable: the grace starts on abort only
    if (!settled.ok) {
      const error = settled.error;
      const message = error instanceof Error ? error.message || error.name : String(error);
      return { kind: "failed", error: truncate(message, MAX_ERROR_CHARS), notRetryable: isNonRetryable(error) };
    }
    return serializeResult(settled.value);
  }

  function serializeResult(value: unknown): Outcome {
    let json: string | undefined;
    try {
      json = value === undefined ? "" : (JSON.stringify(value) ?? "");
    } catch (error) {
      return {
        kind: "failed",
        error: `the handler's result cannot be sent as JSON: ${error instanceof Error ? error.message : String(error)}`,
        notRetryable: true,
      };
    }
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes > maxResultBytes) {
      return {
        kind: "failed",
        error: `the handler's result is ${bytes} bytes of JSON, more than the limit of ${maxResultBytes}`,
        notRetryable: true,
      };
    }
    return { kind: "complete", resultJson: json };
  }

  return {
    get size() {
      return options.size;
    },
    get inFlight() {
      return held.size;
    },
    get running() {
      return running;
    },
    get draining() {
      return draining;
    },
    submit(task) {
      const key = attemptKey(task.taskId, task.attempt);
      if (held.has(key) || recent.has(key)) return "duplicate";
      if (draining) return "draining";
      if (queue.length >= maxQueued && running >= options.size) return "full";
      const entry: Entry = {
        key,
        task,
        controller: new LazyAbort(),
        done: false,
        waiters: undefined,
        running: false,
        gated: !(task.startOnArrival && task.attempt === 1) || stalledLately(),
      };
      held.set(key, entry);
      active.add(entry);
      queue.push(entry);
      pump();
      return "accepted";
    },
    stopAccepting() {
      draining = true;
    },
    async drain(timeoutMs) {
      draining = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        while (active.size > 0) {
          const all = Promise.all([...active].map(finished)).then(() => true as const);
          if (!(await Promise.race([all, expired]))) return false;
        }
        return true;
      } finally {
        clearTimeout(timer);
      }
    },
    holding() {
      const keys = new Map<string, { taskId: string; attempt: number }>();
      for (const entry of [...held.values(), ...active]) keys.set(entry.key, { taskId: entry.task.taskId, attempt: entry.task.attempt });
      return [...keys.values()];
    },
    cancel(taskId, attempt, reason) {
      const entry = [...held.values()].find((e) => e.task.taskId === taskId && (attempt === 0 || e.task.attempt === attempt));
      if (!entry) return false;
      const waiting = queue.indexOf(entry);
      if (waiting >= 0) {
        queue.splice(waiting, 1);
        held.delete(entry.key);
        if (entry.task.attempt > 0) remember(entry.key);
        finish(entry);
      } else {
        entry.controller.abort(cancelReason(reason));
      }
      poolLog.info("attempt cancelled", { task_id: taskId, attempt: entry.task.attempt, reason });
      return true;
    },
    abortAll(reason) {
      draining = true;
      for (const entry of queue.splice(0)) {
        held.delete(entry.key);
        finish(entry);
      }
      for (const entry of held.values()) {
        entry.controller.abort(shutdownReason(reason));
      }
    },
  };
}

/** Whether a handler returned a promise (or any thenable, which is awaited as one). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

/**
 * A handler's `ctx`: one object of one shape, its signal and logger made when first read (getters on
 * the class, not on a literal made per attempt).
 */
class AttemptContext implements TaskContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly command: string;
  readonly payload: unknown;
  readonly progress: (percent: number) => void;
  readonly #controller: LazyAbort;
  readonly #log: () => Logger;

  constructor(task: PoolTask, payload: unknown, controller: LazyAbort, progress: (percent: number) => void, log: () => Logger) {
    this.taskId = task.taskId;
    this.attempt = task.attempt;
    this.command = task.command;
    this.payload = payload;
    this.progress = progress;
    this.#controller = controller;
    this.#log = log;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get log(): Logger {
    return this.#log();
  }
}

/**
 * An attempt's abort. Its AbortSignal (the handler's `ctx.signal`) is made only when the handler
 * reads it: most quick handlers never do, and an AbortController with its EventTarget costs ~10 µs
 * and an allocation burst per task. Aborting before that records the reason; the signal, once
 * made, starts aborted with it. The first abort wins, as with AbortController.
 */
class LazyAbort {
  aborted = false;
  reason: unknown = undefined;
  #controller: AbortController | undefined;
  #listeners: (() => void)[] | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const listener of listeners) listener();
  }

  /** Calls `listener` once, when aborted (at once if it already is). */
  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else (this.#listeners ??= []).push(listener);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type ProgressThrottle = ReturnType<typeof createProgressThrottle>;

/** Sends progress at most once per `intervalMs`, one report at a time, only after `ready` said yes. */
function createProgressThrottle(options: {
  send: (percent: number) => Promise<ReportOutcome>;
  intervalMs: number;
  ready: Promise<boolean>;
}) {
  let latest: number | undefined;
  let lastSent: number | undefined;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sending: Promise<unknown> | undefined;
  let isReady = false;
  let stopped = false;

  const schedule = () => {
    if (stopped || !isReady || timer || sending || latest === undefined || latest === lastSent) return;
    const delay = Math.max(0, lastSentAt + options.intervalMs - performance.now());
    timer = setTimeout(sendLatest, delay);
  };
  const sendLatest = () => {
    timer = undefined;
    if (stopped || latest === undefined || latest === lastSent) return;
    lastSent = latest;
    lastSentAt = performance.now();
    sending = options.send(latest).finally(() => {
      sending = undefined;
      schedule();
    });
  };
  void options.ready.then((ok) => {
    isReady = ok;
    schedule();
  });

  return {
    /** Records a value (clamped to 0..100, rounded) and schedules its report. */
    update(percent: number) {
      if (stopped || typeof percent !== "number" || Number.isNaN(percent)) return;
      latest = Math.round(Math.min(100, Math.max(0, percent)));
      schedule();
    },
    /** Stops the timer and sends the last value if it was not sent (after the report in flight). */
    async flush() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      if (sending) await sending;
      if (!(await options.ready)) return;
      if (latest !== undefined && latest !== lastSent) {
        lastSent = latest;
        await options.send(latest);
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
