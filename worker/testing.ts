// Fixtures for worker/*_test.ts only.
import { createLogger, type Logger } from "../shared/mod.ts";
import type { AttemptRef, ReportOutcome, TaskReporter } from "./coordinator_link.ts";

/** One report a {@linkcode RecordingReporter} received. */
export type RecordedReport =
  | { kind: "started"; ref: AttemptRef; at: number }
  | { kind: "progress"; ref: AttemptRef; percent: number }
  | { kind: "completed"; ref: AttemptRef; resultJson: string; at: number; startedAtMs?: number }
  | { kind: "failed"; ref: AttemptRef; error: string; notRetryable: boolean; at: number; startedAtMs?: number };

/** A {@linkcode TaskReporter} that records every report and answers what `answer` says (default accepted). */
export interface RecordingReporter extends TaskReporter {
  reports: RecordedReport[];
  answer: (report: RecordedReport) => ReportOutcome | Promise<ReportOutcome>;
  /** Reports of one task, in order. */
  of(taskId: string): RecordedReport[];
}

export function createRecordingReporter(): RecordingReporter {
  const reporter: RecordingReporter = {
    reports: [],
    answer: () => "accepted",
    of: (taskId) => reporter.reports.filter((r) => r.ref.taskId === taskId),
    started: (ref, at) => record({ kind: "started", ref, at }),
    progress: (ref, percent) => record({ kind: "progress", ref, percent }),
    completed: (ref, resultJson, at, startedAtMs) =>
      record({ kind: "completed", ref, resultJson, at, ...(startedAtMs === undefined ? {} : { startedAtMs }) }),
    failed: (ref, error, notRetryable, at, startedAtMs) =>
      record({ kind: "failed", ref, error, notRetryable, at, ...(startedAtMs === undefined ? {} : { startedAtMs }) }),
  };
  async function record(report: RecordedReport): Promise<ReportOutcome> {
    reporter.reports.push(report);
    return await reporter.answer(report);
  }
  return reporter;
}

/** A logger that keeps its JSON lines in `lines` (set TEST_WORKER_LOGS=1 to print them too). */
export function createTestLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    json: true,
    level: "debug",
    write: (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env["TEST_WORKER_LOGS"]) console.log(line);
    },
  });
  return Object.assign(logger, { lines });
}

/** Polls `probe` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A promise with its resolve function, for handlers the test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
