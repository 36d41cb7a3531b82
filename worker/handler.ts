import type { Logger } from "../shared/mod.ts";

/** What a handler gets for one attempt of one task. */
export interface TaskContext {
  /** The task's id (a UUID for TaskMaster's coordinator; any string for the seed's). */
  taskId: string;
  /** The attempt this run is (1-based; 0 when a seed coordinator did not say). */
  attempt: number;
  /** The task's command: the name the handler was chosen by. */
  command: string;
  /** The task's payload, parsed from JSON (`undefined` when the task has none). */
  payload: unknown;
  /**
   * Aborted when the attempt must stop: its timeout passed, the coordinator said the attempt is stale,
   * or the worker is shutting down. A handler that ignores it is abandoned after a short grace.
   */
  signal: AbortSignal;
  /** Reports progress, 0 to 100 (clamped and rounded). Cheap: reports are throttled. */
  progress(percent: number): void;
  /** A logger whose lines carry `task_id`, `attempt`, `worker_id` and `command`. */
  log: Logger;
}

/**
 * Runs tasks of one command. `run` returns the task's result, or a promise of it (sent to the
 * coordinator as JSON; `undefined` = no result), or throws (rejects) to fail the attempt: with
 * {@linkcode NonRetryableError} when retrying cannot help, with any other error to let the coordinator
 * retry it. A handler that returns without a promise costs the worker least (no timer, no promise:
 * its attempt is over when it returns).
 */
export interface TaskHandler {
  /** The command this handler runs, e.g. `"resize-image"`. */
  readonly name: string;
  /** The result, or a promise (any thenable) of it. */
  run(ctx: TaskContext): unknown;
}

/** Thrown by a handler to fail an attempt without retry (bad payload, a 404, a refused program). */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}

/**
 * True when `error` says retrying cannot help: a {@linkcode NonRetryableError}, also one thrown by a
 * second copy of this module (matched by name).
 */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (error instanceof Error && error.name === "NonRetryableError");
}

const HANDLER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/;

/**
 * Defines the handler of command `name`. Throws a `TypeError` when the name is not 1-100 characters of
 * letters, digits and `._:/-` (starting with a letter or digit) or `run` is not a function.
 *
 * @example
 * export const handlers = [defineHandler("greet", async ({ payload }) => ({ hello: payload }))];
 */
export function defineHandler(name: string, run: (ctx: TaskContext) => Promise<unknown> | unknown): TaskHandler {
  if (typeof name !== "string" || !HANDLER_NAME.test(name)) {
    throw new TypeError(
      `Cannot define handler: name must be 1-100 characters of letters, digits and "._:/-" starting with a letter or digit: current value is ${JSON.stringify(name)}`,
    );
  }
  if (typeof run !== "function") {
    throw new TypeError(`Cannot define handler "${name}": run must be a function: current value is ${typeof run}`);
  }
  // `run` itself, not wrapped in an async function: a handler that returns at once stays synchronous
  // (the pool then makes no timer or promise for its attempt).
  return { name, run };
}
