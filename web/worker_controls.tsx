import { type FormEvent, useState } from "react";
import { FormField } from "./form_field.tsx";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { validateWorkerCount } from "./task_form_validation.ts";
import { trpc } from "./trpc.ts";
import { useWorkers } from "./use_workers.ts";

/** Worker controls: scale the local workers to 1, 3, 5 or any number up to 50; kill a chosen worker. */
export function WorkerControls() {
  const state = useWorkers();
  const scale = trpc.worker.scale.useMutation();
  const kill = trpc.worker.kill.useMutation();
  const [custom, setCustom] = useState("");
  const [customError, setCustomError] = useState<string | undefined>();
  const [victim, setVictim] = useState("");

  const disabled = state.scaler === "none";
  const killable = state.workers.filter((w) => w.managed);
  const chosen = killable.some((w) => w.name === victim) ? victim : (killable[0]?.name ?? "");

  const scaleTo = (count: number) => {
    setCustomError(undefined);
    kill.reset();
    scale.mutate({ count });
  };
  const onCustom = (event: FormEvent) => {
    event.preventDefault();
    const checked = validateWorkerCount(custom);
    if (!checked.ok) {
      setCustomError(checked.errors.count);
      return;
    }
    scaleTo(checked.value);
  };
  const onKill = (event: FormEvent) => {
    event.preventDefault();
    if (!chosen) return;
    scale.reset();
    kill.mutate({ name: chosen });
  };

  let feedback: string | null = null;
  if (scale.isPending) feedback = `Scaling to ${scale.variables?.count} worker${scale.variables?.count === 1 ? "" : "s"}…`;
  else if (scale.isSuccess) feedback = `Scaled to ${scale.data.count} worker${scale.data.count === 1 ? "" : "s"}: the panel follows as they register or stop.`;
  else if (kill.isPending) feedback = `Killing ${kill.variables?.name}…`;
  else if (kill.isSuccess) feedback = `Killed ${kill.data.name}: its tasks go back to the queue and finish elsewhere.`;
  const error = scale.error?.message ?? kill.error?.message ?? null;

  return (
    <Panel
      title="Worker controls"
      id="worker-controls"
      aside={
        <span className={`text-sm ${ui.muted}`}>
          {state.scaler === "local" ? `${state.managedCount} started by this server` : state.scaler === "none" ? "scaling off" : ""}
        </span>
      }
    >
      {disabled ? (
        <p className={`mb-3 text-sm ${ui.muted}`}>
          This server does not manage workers (WORKER_SCALER=none): start and stop them where they run.
        </p>
      ) : null}
      <fieldset disabled={disabled} className="space-y-3">
        <legend className={ui.label}>Scale workers</legend>
        <div className="flex flex-wrap gap-2">
          {[1, 3, 5].map((n) => (
            <button
              key={n}
              type="button"
              className={ui.secondaryButton}
              aria-pressed={state.scaler === "local" && state.managedCount === n}
              onClick={() => scaleTo(n)}
              disabled={scale.isPending}
            >
              {n} worker{n === 1 ? "" : "s"}
            </button>
          ))}
        </div>
        <form className="flex items-start gap-2" onSubmit={onCustom} noValidate>
          <FormField label="Worker count (1-50)" error={customError} className="w-40">
            <input
              className={ui.input}
              type="number"
              inputMode="numeric"
              min={1}
              max={50}
              step={1}
              value={custom}
              onChange={(e) => setCustom(e.target.value)}
              placeholder="e.g. 10"
            />
          </FormField>
          <button type="submit" className={`${ui.primaryButton} mt-6`} disabled={scale.isPending}>
            Scale
          </button>
        </form>
      </fieldset>

      <form className="mt-4 flex flex-wrap items-end gap-2 border-t border-zinc-200 pt-4 dark:border-zinc-800" onSubmit={onKill}>
        <FormField label="Worker to kill" className="min-w-44 flex-1" hint="Killed at once (no drain): its tasks are retried on other workers.">
          <select className={ui.input} value={chosen} onChange={(e) => setVictim(e.target.value)} disabled={killable.length === 0}>
            {killable.length === 0 ? <option value="">No worker started by this server</option> : null}
            {killable.map((w) => (
              <option key={w.id} value={w.name}>
                {w.name} ({Math.max(w.inFlight, w.currentTaskIds.length)}/{w.capacity} busy)
              </option>
            ))}
          </select>
        </FormField>
        <button type="submit" className={`${ui.dangerButton} mb-5`} disabled={!chosen || kill.isPending}>
          Kill worker
        </button>
      </form>

      <div aria-live="polite" className="min-h-5 text-sm">
        {error ? (
          <p role="alert" className={ui.fieldError}>
            {error}
          </p>
        ) : feedback ? (
          <p className="text-zinc-700 dark:text-zinc-300">{feedback}</p>
        ) : null}
      </div>
    </Panel>
  );
}
