import { keepPreviousData } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { useSearchParams } from "wouter";
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";
import { FormField } from "./form_field.tsx";
import { formatCount } from "./format.ts";
import { useLiveStats, useTaskChanges } from "./live_events.tsx";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { isRetryable } from "./task_actions.ts";
import { filterStatuses, parseTaskFilter, STATUS_GROUPS, type TaskFilter, withTaskFilter } from "./task_filter.ts";
import { latestRows, needsRefetch, patchTaskPage } from "./task_page_patch.ts";
import { TaskTable } from "./task_table.tsx";
import { throttle } from "./throttle.ts";
import { trpc } from "./trpc.ts";
import { useNow } from "./use_now.ts";
import { useWorkers } from "./use_workers.ts";

/** Rows per page: each page is one indexed query on the server, however many tasks there are. */
export const TASK_PAGE_SIZE = 50;
/** The page is refetched at most this often while tasks change (rows are patched in between). */
export const TASK_REFETCH_MS = 1000;

/** How many tasks match, when the live stats can tell (a status filter or none). */
function matchingCount(filter: TaskFilter, stats: ReturnType<typeof useLiveStats>["stats"]): number | null {
  if (!stats || filter.command !== undefined || filter.workerId !== undefined) return null;
  const statuses = filterStatuses(filter);
  return statuses ? statuses.reduce((sum, s) => sum + stats.byStatus[s], 0) : stats.total;
}

function CommandFilter({ value, onChange }: { value: string; onChange: (command: string) => void }) {
  const [text, setText] = useState(value);
  const commit = useRef(onChange);
  commit.current = onChange;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const timer = setTimeout(() => commit.current(text.trim()), 400);
    return () => clearTimeout(timer);
  }, [text, value]);
  return (
    <FormField label="Command" className="min-w-40 flex-1">
      <input
        className={ui.input}
        type="search"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && onChange(text.trim())}
        placeholder="exact command"
        autoComplete="off"
        spellCheck={false}
      />
    </FormField>
  );
}

/**
 * The live task monitor: newest tasks first, a page at a time (keyset pagination on the server, so
 * 100,000 tasks cost the same as 50), filtered by status, command and worker. Rows are patched from
 * the live task feed as they change; the page is refetched (throttled) when tasks arrive or finish.
 */
export function TaskMonitor() {
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => parseTaskFilter(params), [params]);
  const filterKey = JSON.stringify(filter);
  const [paging, setPaging] = useState<{ key: string; cursors: (string | null)[] }>({ key: filterKey, cursors: [null] });
  const cursors = paging.key === filterKey ? paging.cursors : [null];
  const pageIndex = cursors.length - 1;
  const cursor = cursors[pageIndex] ?? null;
  const input = {
    limit: TASK_PAGE_SIZE,
    ...(cursor ? { cursor } : {}),
    ...(filter.status ? { statuses: [...filterStatuses(filter)!] } : {}),
    ...(filter.command ? { command: filter.command } : {}),
    ...(filter.workerId !== undefined ? { workerId: filter.workerId } : {}),
  };
  const utils = trpc.useUtils();
  const query = trpc.task.list.useQuery(input, { placeholderData: keepPreviousData, staleTime: Infinity });
  const { stats } = useLiveStats();
  const { workers } = useWorkers();

  const latest = useRef({ input, filter });
  latest.current = { input, filter };
  const refetch = useMemo(() => throttle(() => void utils.task.list.invalidate(), TASK_REFETCH_MS), [utils]);
  useEffect(() => refetch.cancel, [refetch]);
  useTaskChanges((events) => {
    const { input: current, filter: currentFilter } = latest.current;
    const page = utils.task.list.getData(current);
    const rows = latestRows(events);
    if (page && rows.size > 0) utils.task.list.setData(current, (old) => (old ? patchTaskPage(old, rows) : old));
    if (needsRefetch(events, page, { firstPage: !current.cursor, filter: currentFilter })) refetch();
  });

  const tasks = query.data?.items ?? [];
  const anyRunning = tasks.some((t) => t.status === "RUNNING" || t.status === "PICKED" || t.status === "SCHEDULED");
  const now = useNow(1000, anyRunning);

  const retryMany = trpc.task.retryMany.useMutation({ onSettled: () => void utils.task.list.invalidate() });
  const { reset: resetRetryMany } = retryMany;
  useEffect(() => resetRetryMany(), [filterKey, resetRetryMany]);
  const single = filter.status !== undefined && !(filter.status in STATUS_GROUPS) ? (filter.status as TaskStatusName) : undefined;
  const retryStatus = single !== undefined && isRetryable(single) && filter.workerId === undefined ? single : null;

  const setFilter = (next: TaskFilter) => setParams(withTaskFilter(params, next), { replace: true });
  const total = matchingCount(filter, stats);
  const first = pageIndex * TASK_PAGE_SIZE + 1;
  const last = pageIndex * TASK_PAGE_SIZE + tasks.length;
  const filtered = filter.status !== undefined || filter.command !== undefined || filter.workerId !== undefined;
  const range =
    tasks.length === 0 ? "No tasks" : `${formatCount(first)}–${formatCount(last)}${total !== null ? ` of ${formatCount(total)}` : ""}`;

  const workerOptions = [...workers.map((w) => ({ id: w.id, name: w.name }))];
  if (filter.workerId !== undefined && !workerOptions.some((w) => w.id === filter.workerId)) {
    workerOptions.push({ id: filter.workerId, name: `Worker-${filter.workerId}` });
  }

  return (
    <Panel
      title="Live task monitor"
      id="tasks"
      aside={
        <span className={`text-sm tabular-nums ${ui.muted}`} aria-live="off">
          {range}
          {query.isFetching ? <span className="ml-2 text-xs">updating…</span> : null}
        </span>
      }
    >
      <div role="search" aria-label="Filter tasks" className="mb-3 flex flex-wrap items-end gap-3">
        <FormField label="Status" className="w-48">
          <select className={ui.input} value={filter.status ?? ""} onChange={(e) => setFilter({ ...filter, status: (e.target.value || undefined) as TaskFilter["status"] })}>
            <option value="">All statuses</option>
            <option value="active">Active (picked, running)</option>
            <option value="unsuccessful">Unsuccessful (failed, dead, cancelled)</option>
            <optgroup label="One status">
              {TASK_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </optgroup>
          </select>
        </FormField>
        <CommandFilter value={filter.command ?? ""} onChange={(command) => setFilter({ ...filter, command: command || undefined })} />
        <FormField label="Worker" className="w-44">
          <select
            className={ui.input}
            value={filter.workerId !== undefined ? String(filter.workerId) : ""}
            onChange={(e) => setFilter({ ...filter, workerId: e.target.value ? Number(e.target.value) : undefined })}
          >
            <option value="">Any worker</option>
            {workerOptions.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </FormField>
        {filtered ? (
          <button type="button" className={ui.secondaryButton} onClick={() => setFilter({})}>
            Clear filters
          </button>
        ) : null}
        {retryStatus && tasks.length > 0 ? (
          <button
            type="button"
            className={ui.primaryButton}
            disabled={retryMany.isPending}
            onClick={() => retryMany.mutate({ status: retryStatus, ...(filter.command ? { command: filter.command } : {}) })}
          >
            Retry all {retryStatus.toLowerCase()}
            {filter.command ? ` ${filter.command}` : ""} tasks
          </button>
        ) : null}
      </div>
      <div aria-live="polite" className="text-sm">
        {retryMany.error ? (
          <p role="alert" className={`mb-2 ${ui.fieldError}`}>
            {retryMany.error.message}
          </p>
        ) : retryMany.data ? (
          <p className="mb-2 text-zinc-700 dark:text-zinc-300">
            {retryMany.data.message ?? `Sent ${formatCount(retryMany.data.count)} task${retryMany.data.count === 1 ? "" : "s"} back to the queue.`}
          </p>
        ) : null}
      </div>

      {query.error ? (
        <p role="alert" className={ui.fieldError}>
          Could not load tasks: {query.error.message}
        </p>
      ) : null}
      <div className="relative max-h-[38rem] overflow-auto rounded-lg border border-zinc-200 dark:border-zinc-800" tabIndex={0} aria-label="Tasks table, scrollable">
        {query.isLoading ? (
          <p className={`p-4 text-sm ${ui.muted}`}>Loading tasks…</p>
        ) : tasks.length === 0 ? (
          <p className={`p-4 text-sm ${ui.muted}`}>{filtered ? "No task matches these filters." : "No tasks yet: create some above."}</p>
        ) : (
          <TaskTable tasks={tasks} now={now} caption={`Tasks, newest first, ${range}`} />
        )}
      </div>

      <nav aria-label="Task pages" className="mt-3 flex flex-wrap items-center gap-2">
        <button
          type="button"
          className={ui.secondaryButton}
          disabled={pageIndex === 0}
          onClick={() => setPaging({ key: filterKey, cursors: [null] })}
        >
          Newest
        </button>
        <button
          type="button"
          className={ui.secondaryButton}
          disabled={pageIndex === 0}
          onClick={() => setPaging({ key: filterKey, cursors: cursors.slice(0, -1) })}
        >
          ← Newer
        </button>
        <button
          type="button"
          className={ui.secondaryButton}
          disabled={!query.data?.nextCursor || query.isPlaceholderData}
          onClick={() => query.data?.nextCursor && setPaging({ key: filterKey, cursors: [...cursors, query.data.nextCursor] })}
        >
          Older →
        </button>
        <span className={`text-sm ${ui.muted}`}>
          Page {pageIndex + 1}
          {total !== null && total > 0 ? ` of ${formatCount(Math.ceil(total / TASK_PAGE_SIZE))}` : ""}
        </span>
      </nav>
    </Panel>
  );
}
