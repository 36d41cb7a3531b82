import type { GuaranteeStats, RerunReason } from "../server/mod.ts";
import { formatCount } from "./format.ts";
import { ui } from "./styles.ts";

const REASONS: Record<RerunReason, string> = {
  worker_lost: "worker lost",
  lease_expired: "lease expired",
  dispatch_failed: "dispatch failed",
  worker_restarted: "worker restarted",
  retried_after_failure: "retried after a failure",
  other: "other faults",
};

function Figure({ label, value, tone, hint }: { label: string; value: string; tone?: string; hint?: string }) {
  return (
    <div className="min-w-24" title={hint}>
      <dt className={`text-xs ${ui.muted}`}>{label}</dt>
      <dd className={`text-lg font-semibold tabular-nums ${tone ?? "text-zinc-900 dark:text-zinc-100"}`} data-guarantee={label}>
        {value}
      </dd>
    </div>
  );
}

/**
 * The figures that prove nothing accepted was lost (issue 4): accepted = finished + in flight +
 * queued, lost (must be 0), tasks run more than once and why, stale reports rejected, leases swept.
 */
export function GuaranteePanel({ guarantees }: { guarantees: GuaranteeStats | null }) {
  if (!guarantees) return null;
  const g = guarantees;
  const reruns = (Object.keys(REASONS) as RerunReason[])
    .filter((r) => g.ranMoreThanOnce.byReason[r] > 0)
    .map((r) => `${formatCount(g.ranMoreThanOnce.byReason[r])} ${REASONS[r]}`);
  return (
    <section
      aria-label="Guarantees"
      className="flex flex-wrap items-center gap-x-6 gap-y-2 rounded-xl border border-zinc-200 bg-white px-4 py-2.5 shadow-sm dark:border-zinc-800 dark:bg-zinc-900"
    >
      <p
        className={`text-sm font-semibold ${g.lost === 0 ? "text-emerald-700 dark:text-emerald-300" : "text-red-700 dark:text-red-300"}`}
        role={g.lost === 0 ? undefined : "alert"}
      >
        {g.lost === 0 ? "✓ Nothing lost" : `${formatCount(g.lost)} task${g.lost === 1 ? "" : "s"} unaccounted for`}
      </p>
      <dl className="flex flex-wrap gap-x-6 gap-y-2">
        <Figure label="Accepted" value={formatCount(g.accepted)} />
        <Figure label="Finished" value={formatCount(g.finished)} />
        <Figure label="In flight" value={formatCount(g.inFlight)} />
        <Figure label="Queued" value={formatCount(g.queued)} />
        <Figure
          label="Lost"
          value={formatCount(g.lost)}
          tone={g.lost === 0 ? "text-emerald-700 dark:text-emerald-300" : "text-red-700 dark:text-red-300"}
          hint="Accepted minus finished, in flight and queued: must be 0"
        />
        <Figure
          label="Ran more than once"
          value={formatCount(g.ranMoreThanOnce.total)}
          hint={reruns.length > 0 ? `Because: ${reruns.join(", ")}` : "No task had to run again"}
        />
        <Figure label="Stale reports rejected" value={formatCount(g.staleReportsRejected)} hint="Reports from an attempt that was no longer current" />
        <Figure label="Leases swept" value={formatCount(g.leasesSwept)} hint="Claims whose lease expired, put back in the queue" />
        <Figure label="Taken from lost workers" value={formatCount(g.requeuedWorkerLost)} />
      </dl>
      {reruns.length > 0 ? <p className={`w-full text-xs ${ui.muted}`}>Ran again because: {reruns.join(", ")}.</p> : null}
    </section>
  );
}
