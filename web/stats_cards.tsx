import type { TaskStats } from "../server/mod.ts";
import { formatCount } from "./format.ts";

interface Card {
  label: string;
  value: number;
  tone: string;
  hint?: string;
}

/** The header's counts: total, pending, running, completed, failed, dead (cancelled when any), workers online. */
export function StatsCards({ stats }: { stats: TaskStats | null }) {
  const n = (pick: (s: TaskStats) => number) => (stats ? pick(stats) : 0);
  const cards: Card[] = [
    { label: "Total", value: n((s) => s.total), tone: "text-zinc-900 dark:text-zinc-50" },
    { label: "Pending", value: n((s) => s.pending), tone: "text-zinc-700 dark:text-zinc-200", hint: "scheduled, waiting for a worker" },
    { label: "Running", value: n((s) => s.running), tone: "text-sky-700 dark:text-sky-300", hint: "picked or running" },
    { label: "Completed", value: n((s) => s.completed), tone: "text-emerald-700 dark:text-emerald-300" },
    { label: "Failed", value: n((s) => s.byStatus.FAILED), tone: "text-red-700 dark:text-red-300", hint: "not retryable" },
    { label: "Dead", value: n((s) => s.dead), tone: "text-rose-800 dark:text-rose-300", hint: "attempts exhausted" },
    ...(stats && stats.cancelled > 0 ? [{ label: "Cancelled", value: stats.cancelled, tone: "text-zinc-500 dark:text-zinc-400" }] : []),
    {
      label: "Workers online",
      value: n((s) => s.workersOnline),
      tone: stats?.noWorkers ? "text-red-700 dark:text-red-300" : "text-indigo-700 dark:text-indigo-300",
    },
  ];
  return (
    <dl className="grid grid-cols-[repeat(auto-fit,minmax(8.5rem,1fr))] gap-3" aria-busy={stats === null}>
      {cards.map((card) => (
        <div
          key={card.label}
          className="rounded-xl border border-zinc-200 bg-white px-3 py-2.5 shadow-sm dark:border-zinc-800 dark:bg-zinc-900"
          title={card.hint}
        >
          <dt className="text-xs font-medium uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{card.label}</dt>
          <dd className={`mt-0.5 text-2xl font-semibold tabular-nums ${card.tone}`} data-stat={card.label}>
            {stats ? formatCount(card.value) : "–"}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Shown while no worker is online: tasks wait in the queue. */
export function NoWorkersBanner({ pending, controlsHref }: { pending: number; controlsHref?: string }) {
  return (
    <div
      role="alert"
      className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-xl border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <strong className="font-semibold">No worker is online.</strong>
      <span>
        {pending > 0 ? `${formatCount(pending)} task${pending === 1 ? " waits" : "s wait"}` : "New tasks will wait"} in the queue
        until a worker joins.
      </span>
      {controlsHref ? (
        <a href={controlsHref} className="font-medium underline underline-offset-2">
          Start workers
        </a>
      ) : null}
    </div>
  );
}
