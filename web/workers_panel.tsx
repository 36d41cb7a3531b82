import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { trpc } from "./trpc.ts";
import { useNow } from "./use_now.ts";
import { useWorkers } from "./use_workers.ts";
import { WorkerCards } from "./worker_cards.tsx";

/** The workers panel: one card per online worker, following joins, losses, slot use and heartbeats live. */
export function WorkersPanel() {
  const state = useWorkers();
  const now = useNow(1000, state.workers.length > 0);
  const kill = trpc.worker.kill.useMutation();
  const online = state.workers.length;
  return (
    <Panel
      title="Workers"
      id="workers"
      aside={
        <span className={`text-sm ${ui.muted}`} data-testid="workers-count">
          {online} online{state.starting.length > 0 ? `, ${state.starting.length} starting` : ""}
        </span>
      }
    >
      {kill.error ? (
        <p role="alert" className={`mb-2 ${ui.fieldError}`}>
          {kill.error.message}
        </p>
      ) : null}
      {state.isLoading ? (
        <p className={`text-sm ${ui.muted}`}>Loading workers…</p>
      ) : (
        <WorkerCards
          workers={state.workers}
          starting={state.starting}
          stopping={state.stopping}
          receivedAt={state.receivedAt}
          now={now}
          onKill={(name) => kill.mutate({ name })}
          killing={kill.isPending ? (kill.variables?.name ?? null) : null}
        />
      )}
    </Panel>
  );
}
