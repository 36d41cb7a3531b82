import { type ReactNode, useMemo } from "react";
import { Link, useLocation } from "wouter";
import { formatDateTime, formatDuration, shortId } from "./format.ts";
import { useTaskChanges } from "./live_events.tsx";
import { Panel } from "./panel.tsx";
import { ProgressBar } from "./progress_bar.tsx";
import { StatusBadge } from "./status_badge.tsx";
import { ui } from "./styles.ts";
import { taskActions } from "./task_actions.ts";
import type { JsonValue } from "./task_form_validation.ts";
import { latestRows } from "./task_page_patch.ts";
import { buildTaskTimeline } from "./task_timeline.ts";
import { TaskTimelineView } from "./task_timeline_view.tsx";
import { throttle } from "./throttle.ts";
import { trpc } from "./trpc.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre
      aria-label={label}
      tabIndex={0}
      className="max-h-80 overflow-auto rounded-lg bg-zinc-100 p-3 font-mono text-xs text-zinc-800 dark:bg-zinc-950 dark:text-zinc-200"
    >
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function Detail({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt className={`text-xs ${ui.muted}`}>{term}</dt>
      <dd className="text-sm text-zinc-900 dark:text-zinc-100">{children}</dd>
    </div>
  );
}

/** `/tasks/:id`: a task's details, the timeline of every attempt, payload, result or error; live. */
export function TaskPage({ id }: { id: string }) {
  const valid = UUID.test(id);
  const utils = trpc.useUtils();
  const [, navigate] = useLocation();
  const query = trpc.task.get.useQuery(
    { id },
    {
      enabled: valid,
      staleTime: Infinity,
      retry: (failures, error) => !["NOT_FOUND", "BAD_REQUEST"].includes(error.data?.code ?? "") && failures < 3,
    },
  );
  const refetch = useMemo(() => throttle(() => void utils.task.get.invalidate({ id }), 500), [utils, id]);
  useTaskChanges((events) => {
    const row = latestRows(events).get(id);
    if (row) utils.task.get.setData({ id }, (old) => (old ? { ...old, progress: row.progress } : old));
    if (row || events.some((e) => e.op === "R" || e.rows === null)) refetch();
  });
  const runAgain = trpc.task.schedule.useMutation({
    onSuccess: (result) => navigate(`/tasks/${result.task.id}`),
  });
  const refresh = () => void utils.task.get.invalidate({ id });
  const cancel = trpc.task.cancel.useMutation({ onSettled: refresh });
  const retry = trpc.task.retry.useMutation({ onSettled: refresh });
  const actionError = cancel.error?.message ?? retry.error?.message ?? runAgain.error?.message ?? null;

  const back = (
    <Link href="/" className={`text-sm ${ui.link}`}>
      ← Dashboard
    </Link>
  );
  if (!valid || query.error) {
    const notFound = !valid || query.error?.data?.code === "NOT_FOUND";
    return (
      <div className="space-y-4">
        {back}
        <Panel title={notFound ? "Task not found" : "Could not load the task"}>
          <p role="alert" className="text-sm">
            {notFound ? `No task has the id “${id}”.` : query.error?.message}
          </p>
        </Panel>
      </div>
    );
  }
  const task = query.data;
  if (!task) {
    return (
      <div className="space-y-4">
        {back}
        <p className={`text-sm ${ui.muted}`}>Loading task…</p>
      </div>
    );
  }
  const timeline = buildTaskTimeline(task);
  const actions = taskActions(task.status);
  const finishedAt = task.completedAt ?? task.failedAt;

  return (
    <div className="space-y-4">
      {back}
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-semibold text-zinc-900 dark:text-zinc-50">
          Task <span className="font-mono">{shortId(task.id)}</span>
        </h1>
        <span data-task-status={task.status}>
          <StatusBadge status={task.status} />
        </span>
        <span className={`font-mono text-xs break-all ${ui.muted}`}>{task.id}</span>
      </div>

      <div className="grid gap-4 lg:grid-cols-3">
        <Panel title="Details" className="lg:col-span-1">
          <dl className="grid grid-cols-2 gap-3">
            <Detail term="Command">
              <span className="font-mono break-all">{task.command}</span>
            </Detail>
            <Detail term="Priority">{task.priority}</Detail>
            <Detail term="Attempt">
              {task.attempt} of {task.maxAttempts}
            </Detail>
            <Detail term="Worker">{task.workerName ?? "–"}</Detail>
            <Detail term="Created">{formatDateTime(task.createdAt)}</Detail>
            <Detail term="Due">{formatDateTime(task.scheduledAt)}</Detail>
            <Detail term="Finished">{finishedAt ? formatDateTime(finishedAt) : "–"}</Detail>
            <Detail term="Duration">{task.durationMs !== null ? formatDuration(task.durationMs) : "–"}</Detail>
            {task.timeoutMs !== null ? <Detail term="Timeout">{formatDuration(task.timeoutMs)}</Detail> : null}
            {task.idempotencyKey ? <Detail term="Idempotency key">{task.idempotencyKey}</Detail> : null}
          </dl>
          <div className="mt-3">
            <div className="mb-1 flex justify-between text-xs">
              <span className={ui.muted}>Progress</span>
              <span className="tabular-nums">{task.status === "COMPLETED" ? 100 : task.progress}%</span>
            </div>
            <ProgressBar
              value={task.status === "COMPLETED" ? 100 : task.progress}
              label={`Progress of task ${shortId(task.id)}`}
              tone={task.status === "COMPLETED" ? "done" : task.status === "FAILED" || task.status === "DEAD" ? "failed" : "running"}
            />
          </div>
          <div className="mt-4 flex flex-wrap items-center gap-2 border-t border-zinc-200 pt-3 dark:border-zinc-800">
            {actions.cancel ? (
              <button type="button" className={ui.dangerButton} disabled={cancel.isPending} onClick={() => {
                  retry.reset();
                  cancel.mutate({ id: task.id });
                }}>
                {cancel.isPending ? "Cancelling…" : "Cancel task"}
              </button>
            ) : null}
            {actions.retry ? (
              <button type="button" className={ui.primaryButton} disabled={retry.isPending} onClick={() => {
                  cancel.reset();
                  retry.mutate({ id: task.id });
                }}>
                {retry.isPending ? "Retrying…" : "Retry"}
              </button>
            ) : null}
            {actions.runAgain ? (
              <button
                type="button"
                className={ui.secondaryButton}
                disabled={runAgain.isPending}
                onClick={() =>
                  runAgain.mutate({
                    command: task.command,
                    priority: task.priority,
                    maxAttempts: task.maxAttempts,
                    ...(task.payload !== null && task.payload !== undefined ? { payload: task.payload as JsonValue } : {}),
                  })
                }
              >
                Run again as a new task
              </button>
            ) : null}
            <div aria-live="polite" className="w-full text-sm">
              {actionError ? (
                <p role="alert" className={ui.fieldError}>
                  {actionError}
                </p>
              ) : cancel.isSuccess ? (
                <p>Cancelled (it was {cancel.data.previousStatus}).</p>
              ) : retry.isSuccess ? (
                <p>Back in the queue (it was {retry.data.previousStatus}).</p>
              ) : null}
            </div>
          </div>
        </Panel>

        <Panel title="Timeline" className="lg:col-span-2">
          <TaskTimelineView attempts={timeline} />
        </Panel>
      </div>

      <div className="grid gap-4 lg:grid-cols-2">
        <Panel title="Payload">
          {task.payload === null || task.payload === undefined ? (
            <p className={`text-sm ${ui.muted}`}>No payload.</p>
          ) : (
            <Json value={task.payload} label="Payload JSON" />
          )}
        </Panel>
        <Panel title={task.lastError && task.status !== "COMPLETED" ? "Error" : "Result"}>
          {task.lastError && task.status !== "COMPLETED" ? (
            <p className="rounded-lg bg-red-50 p-3 font-mono text-xs whitespace-pre-wrap text-red-800 dark:bg-red-950 dark:text-red-200">{task.lastError}</p>
          ) : task.result === null || task.result === undefined ? (
            <p className={`text-sm ${ui.muted}`}>{task.status === "COMPLETED" ? "Completed without a result." : "No result yet."}</p>
          ) : (
            <Json value={task.result} label="Result JSON" />
          )}
        </Panel>
      </div>
    </div>
  );
}
