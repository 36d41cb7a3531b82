/**
 * The live dashboard: a React app (Vite builds it from index.html and main.tsx into web/dist, which
 * the server serves on :8081), typed from the server's `AppRouter` through a type-only import and
 * kept live by tRPC subscriptions over SSE. This module lists what the dashboard offers to tests and
 * to anyone embedding it; the browser entry is main.tsx.
 *
 * @module
 */
export { App, createDashboardQueryClient } from "./app.tsx";
export { createTrpcClient } from "./trpc_client.ts";
export type { TrpcClientOptions } from "./trpc_client.ts";
export { trpc } from "./trpc.ts";
export type { LocalWorkers, RouterOutputs, ThroughputBucket, WorkerEntry, WorkersSnapshot } from "./trpc.ts";
export {
  createTaskChangeFeed,
  LiveEventsProvider,
  TASK_CHANGE_FLUSH_MS,
  useActivity,
  useConnectionState,
  useLiveStats,
  useTaskChanges,
  useThroughputSamples,
  useWorkersFeed,
} from "./live_events.tsx";
export type { ConnectionState, StatsSnapshot, TaskChangeFeed, WorkersFeedState } from "./live_events.tsx";
export { ACTIVITY_LINES_KEPT, prependActivity } from "./activity_lines.ts";
export type { ActivityLine } from "./activity_lines.ts";
export {
  MAX_BATCH_COUNT,
  MAX_COMMAND_LENGTH,
  MAX_DELAY_SECONDS,
  PRIORITY_RANGE,
  validateBatchForm,
  validateTaskForm,
  validateWorkerCount,
} from "./task_form_validation.ts";
export type {
  BatchFormInput,
  BatchFormValue,
  FieldErrors,
  JsonValue,
  TaskFormInput,
  TaskFormValue,
  Validation,
} from "./task_form_validation.ts";
export { addThroughputSample, historyPoints, niceCeiling, RATE_WINDOW_MS, THROUGHPUT_WINDOW_MS, throughputPoints } from "./throughput_series.ts";
export type { ThroughputHistoryBucket, ThroughputPoint, ThroughputSample } from "./throughput_series.ts";
export { latestRows, needsRefetch, patchTaskPage } from "./task_page_patch.ts";
export { filterStatuses, parseTaskFilter, STATUS_GROUPS, withTaskFilter } from "./task_filter.ts";
export type { StatusGroup, TaskFilter } from "./task_filter.ts";
export { buildTaskTimeline } from "./task_timeline.ts";
export type { TimelineAttempt, TimelineStep } from "./task_timeline.ts";
export { isRetryable, RETRYABLE, taskActions } from "./task_actions.ts";
export type { TaskActions } from "./task_actions.ts";
export { formatAge, formatClock, formatCount, formatDateTime, formatDuration, shortId } from "./format.ts";
export { throttle } from "./throttle.ts";
export type { Throttled } from "./throttle.ts";
export { applyTheme, initialTheme, THEME_STORAGE_KEY, useTheme } from "./theme.ts";
export type { Theme } from "./theme.ts";
export { DashboardPage } from "./dashboard_page.tsx";
export { TaskPage } from "./task_page.tsx";
export { TaskMonitor, TASK_PAGE_SIZE, TASK_REFETCH_MS } from "./task_monitor.tsx";
export { GuaranteePanel } from "./guarantee_panel.tsx";
export { StatsCards, NoWorkersBanner } from "./stats_cards.tsx";
export { ThroughputChart } from "./throughput_chart.tsx";
export { WorkerCards } from "./worker_cards.tsx";
export { TaskTable, taskDurationText } from "./task_table.tsx";
export { TaskTimelineView } from "./task_timeline_view.tsx";
export { ActivityList } from "./activity_list.tsx";
