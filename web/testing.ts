// Fixtures for web/*_test.ts files: tasks, workers and stats as the server sends them.
import type { ReactElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import type { TaskDetail, TaskStats, TaskSummary } from "../server/mod.ts";
import type { WorkerEntry } from "./trpc.ts";

/** A task as `task.list` returns it; `overrides` win. */
export function fakeTask(overrides: Partial<TaskSummary> = {}): TaskSummary {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    command: "process-data",
    status: "SCHEDULED",
    priority: 0,
    attempt: 0,
    maxAttempts: 3,
    progress: 0,
    workerId: null,
    workerName: null,
    scheduledAt: "2030-01-01T00:00:00.000Z",
    pickedAt: null,
    startedAt: null,
    completedAt: null,
    failedAt: null,
    durationMs: null,
    lastError: null,
    createdAt: "2030-01-01T00:00:00.000Z",
    updatedAt: "2030-01-01T00:00:00.000Z",
    ...overrides,
  };
}

/** A task as `task.get` returns it. */
export function fakeTaskDetail(overrides: Partial<TaskDetail> = {}): TaskDetail {
  return {
    ...fakeTask(),
    payload: null,
    result: null,
    timeoutMs: null,
    leaseExpiresAt: null,
    coordinatorId: null,
    idempotencyKey: null,
    attempts: [],
    ...overrides,
  };
}

/** Stats as `events.onStats` yields them, from counts by status. */
export function fakeStats(byStatus: Partial<TaskStats["byStatus"]> = {}, workersOnline = 3): TaskStats {
  const all: TaskStats["byStatus"] = { SCHEDULED: 0, PICKED: 0, RUNNING: 0, COMPLETED: 0, FAILED: 0, DEAD: 0, CANCELLED: 0, ...byStatus };
  const total = Object.values(all).reduce((a, b) => a + b, 0);
  return {
    total,
    byStatus: all,
    pending: all.SCHEDULED,
    running: all.PICKED + all.RUNNING,
    completed: all.COMPLETED,
    failed: all.FAILED + all.DEAD + all.CANCELLED,
    dead: all.DEAD,
    cancelled: all.CANCELLED,
    workersOnline,
    noWorkers: workersOnline === 0,
    throughput: { completedLastMinute: 0, perSecond: 0 },
  };
}

/** A worker as `worker.list` returns it. */
export function fakeWorker(overrides: Partial<WorkerEntry> = {}): WorkerEntry {
  const worker = {
    id: 7,
    name: "Worker-7",
    address: "localhost:5007",
    status: "ONLINE",
    online: true,
    capacity: 5,
    inFlight: 0,
    tasksCompleted: 0,
    tasksFailed: 0,
    handlers: ["sleep", "noop"],
    coordinatorId: "c1",
    startedAt: "2030-01-01T00:00:00.000Z",
    lastHeartbeatAt: "2030-01-01T00:00:00.000Z",
    lastHeartbeatAgeMs: 0,
    currentTaskId: null,
    currentTaskIds: [],
    managed: true,
    pid: 4242,
  } as const satisfies Record<string, unknown>;
  // A cast: the server adds fields over time; a fixture need not list them all.
  return { ...worker, ...overrides } as WorkerEntry;
}

/** Static HTML of `element` (react-dom/server), without React's text separators, for assertions. */
export function renderHtml(element: ReactElement): string {
  return renderToStaticMarkup(element).replaceAll("<!-- -->", "");
}
