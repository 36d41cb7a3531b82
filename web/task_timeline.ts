// A task's timeline for the task page: every attempt as steps (queued, picked, started, finished),
// each with when it happened, by which worker and how long it took since the step before. Pure.
import type { TaskAttemptView, TaskDetail } from "../server/mod.ts";

/** One step of an attempt. */
export interface TimelineStep {
  kind: "scheduled" | "requeued" | "picked" | "started" | "completed" | "failed" | "lost" | "cancelled" | "running";
  label: string;
  /** ISO 8601; null for "running" (still going). */
  at: string | null;
  /** Milliseconds since the step before (null for the first, and for a step still going). */
  afterMs: number | null;
}

/** One attempt with its steps. */
export interface TimelineAttempt {
  attempt: number;
  workerName: string | null;
  outcome: TaskAttemptView["outcome"];
  error: string | null;
  steps: TimelineStep[];
}

const OUTCOME_STEP: Record<Exclude<TaskAttemptView["outcome"], "RUNNING">, TimelineStep["kind"]> = {
  COMPLETED: "completed",
  FAILED: "failed",
  LOST: "lost",
  CANCELLED: "cancelled",
};

const LABELS: Record<TimelineStep["kind"], string> = {
  scheduled: "Scheduled",
  requeued: "Requeued",
  picked: "Picked",
  started: "Started",
  completed: "Completed",
  failed: "Failed",
  lost: "Lost (worker gone)",
  cancelled: "Cancelled",
  running: "Running",
};

function between(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/**
 * Every attempt, oldest first. The first attempt waits from when the task was due (its creation, or a
 * later run time); a retry waits from the end of the attempt before it.
 */
export function buildTaskTimeline(task: Pick<TaskDetail, "createdAt" | "scheduledAt" | "attempts">): TimelineAttempt[] {
  const due = task.attempts.length <= 1 && Date.parse(task.scheduledAt) > Date.parse(task.createdAt) ? task.scheduledAt : task.createdAt;
  let previousEnd: string | null = null;
  return task.attempts.map((a, index) => {
    const steps: TimelineStep[] = [];
    const start: TimelineStep =
      index === 0
        ? { kind: "scheduled", label: LABELS.scheduled, at: due, afterMs: null }
        : { kind: "requeued", label: LABELS.requeued, at: previousEnd, afterMs: null };
    steps.push(start);
    steps.push({ kind: "picked", label: LABELS.picked, at: a.pickedAt, afterMs: between(start.at, a.pickedAt) });
    let last = a.pickedAt;
    if (a.startedAt) {
      steps.push({ kind: "started", label: LABELS.started, at: a.startedAt, afterMs: between(last, a.startedAt) });
      last = a.startedAt;
    }
    if (a.outcome === "RUNNING") {
      steps.push({ kind: "running", label: LABELS.running, at: null, afterMs: null });
    } else {
      const kind = OUTCOME_STEP[a.outcome];
      steps.push({ kind, label: LABELS[kind], at: a.finishedAt, afterMs: between(last, a.finishedAt) });
    }
    previousEnd = a.finishedAt;
    return { attempt: a.attempt, workerName: a.workerName, outcome: a.outcome, error: a.error, steps };
  });
}
