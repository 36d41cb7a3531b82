import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { trpc } from "./trpc.ts";
import { useWorkers } from "./use_workers.ts";
import { WorkerCards } from "./worker_cards.tsx";

/** The workers panel: one card per online worker, following joins, losses and slot use live. */
export function WorkersPanel() {
  const state = useWorkers();
  const utils = trpc.useUtils();
  const kill = trpc.worker.kill.useMutation({
    onSettled: () => {
      void utils.worker.list.invalidate();
      void utils.worker.local.invalidate();
    },
  });
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
      {state.error ? (
        <p role="alert" className={ui.fieldError}>
          Could not load workers: {state.error}
        </p>
      ) : null}
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
          asOf={state.asOf}
          onKill={(name) => kill.mutate({ name })}
          killing={kill.isPending ? (kill.variables?.name ?? null) : null}
        />
      )}
    </Panel>
  );
}
