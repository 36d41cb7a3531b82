import type { ConnectionState } from "./live_events.tsx";

const LOOK: Record<ConnectionState, { text: string; dot: string }> = {
  live: { text: "Live", dot: "bg-emerald-500" },
  connecting: { text: "Connecting…", dot: "bg-amber-500 animate-pulse" },
  reconnecting: { text: "Reconnecting…", dot: "bg-amber-500 animate-pulse" },
  paused: { text: "Paused (tab hidden)", dot: "bg-zinc-400" },
};

/** "Live" while the subscriptions stream; "Reconnecting…" while the server is away. */
export function ConnectionStatus({ state }: { state: ConnectionState }) {
  const look = LOOK[state];
  return (
    <span
      role="status"
      data-connection={state}
      className="inline-flex items-center gap-1.5 rounded-full border border-zinc-200 px-2.5 py-1 text-xs font-medium text-zinc-700 dark:border-zinc-700 dark:text-zinc-200"
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${look.dot}`} />
      {look.text}
    </span>
  );
}
