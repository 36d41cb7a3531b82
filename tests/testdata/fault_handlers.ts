// Handlers for the fault suite: each execution is appended to a ledger file (one line per run, O_APPEND),
// so a test can count how many times every task really ran.
import { appendFileSync } from "node:fs";
import { defineHandler, NonRetryableError } from "../../worker/mod.ts";

const ledgerPath = process.env["LEDGER_PATH"];

function record(taskId: string, attempt: number, event: string): void {
  if (ledgerPath) appendFileSync(ledgerPath, `${taskId} ${attempt} ${process.env["WORKER_ID"] ?? process.pid} ${event}\n`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The handlers the fault suite's workers offer. */
export const handlers = [
  // Records its run, then works for payload.ms (default 0).
  defineHandler("ledger", async ({ taskId, attempt, payload, signal }) => {
    record(taskId, attempt, "run");
    const ms = typeof payload === "object" && payload !== null && "ms" in payload ? Number(payload.ms) : 0;
    if (ms > 0) await sleep(ms, signal);
    return { ok: true };
  }),
  // A poison task: kills its worker process on every attempt.
  defineHandler("crash", ({ taskId, attempt }) => {
    record(taskId, attempt, "crash");
    process.kill(process.pid, "SIGKILL");
    return new Promise(() => {});
  }),
  // Fails every attempt (retryable), to exercise backoff and DEAD.
  defineHandler("always-fail", ({ taskId, attempt }) => {
    record(taskId, attempt, "fail");
    throw new Error(`attempt ${attempt} failed on purpose`);
  }),
  // Fails without retry.
  defineHandler("bad-input", ({ taskId, attempt }) => {
    record(taskId, attempt, "fail");
    throw new NonRetryableError("the payload can never work");
  }),
];
