import { formatCount, formatDuration } from "./format.ts";
import { ui } from "./styles.ts";
import type { WorkerEntry } from "./trpc.ts";

/** Props of {@linkcode WorkerCards}. */
export interface WorkerCardsProps {
  workers: readonly WorkerEntry[];
  /** Worker processes started but not registered yet. */
  starting?: readonly { id: number; name: string }[];
  /** Ids of workers asked to stop (draining). */
  stopping?: ReadonlySet<number>;
  /** When `workers` arrived (epoch ms): each `lastHeartbeatAgeMs` was true then. */
  receivedAt: number;
  /** The browser's clock now (epoch ms), so ages tick between updates. */
  now: number;
  /** Kills a worker this server started; absent: no kill buttons. */
  onKill?: (name: string) => void;
  /** The worker being killed (its button is disabled). */
  killing?: string | null;
}

function workerState(w: WorkerEntry, stopping: boolean): { label: string; tone: string } {
  if (w.status === "DRAINING" || stopping) return { label: "Draining", tone: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300" };
  if (w.inFlight > 0 || w.currentTaskIds.length > 0) return { label: "Busy", tone: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300" };
  return { label: "Idle", tone: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300" };
}

/** One card per online worker: address, its coordinator, state, slots in use, completed and failed, heartbeat age. */
export function WorkerCards({ workers, starting = [], stopping = new Set(), receivedAt, now, onKill, killing }: WorkerCardsProps) {
  if (workers.length === 0 && starting.length === 0) {
    return <p className={`text-sm ${ui.muted}`}>No worker is online.</p>;
  }
  return (
    <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-3" aria-label="Online workers">
      {workers.map((w) => {
        const state = workerState(w, stopping.has(w.id));
        const used = Math.max(w.inFlight, w.currentTaskIds.length);
        const capacity = Math.max(1, w.capacity);
        const age = w.lastHeartbeatAgeMs + Math.max(0, now - receivedAt);
        return (
          <li
            key={w.id}
            data-worker={w.name}
            className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-700"
            aria-label={`${w.name}, ${state.label.toLowerCase()}, ${used} of ${capacity} slots in use`}
          >
            <div className="flex items-start justify-between gap-2">
              <div className="min-w-0">
                <h3 className="truncate font-mono text-sm font-semibold text-zinc-900 dark:text-zinc-50">{w.name}</h3>
                <p className={`truncate font-mono text-xs ${ui.muted}`} title={w.address}>
                  {w.address}
                </p>
                {w.coordinatorId ? (
                  <p className={`truncate text-xs ${ui.muted}`} title={`Registered with coordinator ${w.coordinatorId}`} data-coordinator>
                    via {w.coordinatorId}
                  </p>
                ) : null}
              </div>
              <span className={`shrink-0 rounded-full px-2 py-0.5 text-xs font-medium ${state.tone}`}>{state.label}</span>
            </div>
            <div className="mt-2">
              <div className="flex justify-between text-xs text-zinc-600 dark:text-zinc-300">
                <span>Slots</span>
                <span className="tabular-nums" data-slots>
                  {used} / {capacity}
                </span>
              </div>
              <div
                role="meter"
                aria-label={`${w.name} slots in use`}
                aria-valuemin={0}
                aria-valuemax={capacity}
                aria-valuenow={used}
                className="mt-1 flex h-2 gap-0.5"
              >
                {Array.from({ length: Math.min(capacity, 20) }, (_, i) => (
                  <span
                    key={i}
                    className={`h-full flex-1 rounded-sm ${i < used ? "bg-sky-500" : "bg-zinc-200 dark:bg-zinc-700"}`}
                  />
                ))}
              </div>
            </div>
            <dl className="mt-2 grid grid-cols-3 gap-1 text-xs">
              <div>
                <dt className={ui.muted}>Completed</dt>
                <dd className="font-semibold tabular-nums text-emerald-700 dark:text-emerald-300" data-completed>{formatCount(w.tasksCompleted)}</dd>
              </div>
              <div>
                <dt className={ui.muted}>Failed</dt>
                <dd className="font-semibold tabular-nums text-red-700 dark:text-red-300">{formatCount(w.tasksFailed)}</dd>
              </div>
              <div>
                <dt className={ui.muted}>Heartbeat</dt>
                <dd className="tabular-nums" title={`Last heartbeat ${new Date(w.lastHeartbeatAt).toLocaleString()}`}>
                  {age < 1000 ? "< 1 s ago" : `${formatDuration(age)} ago`}
                </dd>
              </div>
            </dl>
            {onKill && w.managed ? (
              <div className="mt-2 flex justify-end">
                <button
                  type="button"
                  className={ui.smallDangerButton}
                  onClick={() => onKill(w.name)}
                  disabled={killing === w.name}
                  aria-label={`Kill ${w.name}`}
                >
                  {killing === w.name ? "Killing…" : "Kill"}
                </button>
              </div>
            ) : null}
          </li>
        );
      })}
      {starting.map((w) => (
        <li
          key={`starting-${w.id}`}
          data-worker={w.name}
          data-starting
          className="rounded-lg border border-dashed border-zinc-300 p-3 text-sm dark:border-zinc-600"
          aria-label={`${w.name}, starting`}
        >
          <h3 className="font-mono text-sm font-semibold text-zinc-700 dark:text-zinc-200">{w.name}</h3>
          <p className={`mt-1 ${ui.muted}`}>Starting… it appears here once it registers.</p>
        </li>
      ))}
    </ul>
  );
}
