import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { FormField } from "./form_field.tsx";
import { formatCount, shortId } from "./format.ts";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import {
  type BatchFormInput,
  type FieldErrors,
  MAX_BATCH_COUNT,
  type TaskFormInput,
  validateBatchForm,
  validateTaskForm,
} from "./task_form_validation.ts";
import { trpc } from "./trpc.ts";

/** The command a batch gets by default (the seed's bulk tasks). */
export const DEFAULT_BATCH_COMMAND = "process-data";

function BatchForm() {
  const [form, setForm] = useState<BatchFormInput>({ command: DEFAULT_BATCH_COMMAND, count: "50", delaySeconds: "0", priority: "" });
  const [errors, setErrors] = useState<FieldErrors<keyof BatchFormInput>>({});
  const batch = trpc.task.scheduleBatch.useMutation();
  const set = (key: keyof BatchFormInput) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [key]: e.target.value }));
    if (errors[key]) setErrors((x) => ({ ...x, [key]: undefined }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = validateBatchForm(form);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    batch.mutate(checked.value);
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Create a batch of tasks" className="space-y-3">
      <div className="grid grid-cols-2 gap-3">
        <FormField label={`Count (1-${formatCount(MAX_BATCH_COUNT)})`} error={errors.count}>
          <input className={ui.input} type="number" inputMode="numeric" min={1} max={MAX_BATCH_COUNT} value={form.count} onChange={set("count")} />
        </FormField>
        <FormField label="Delay (seconds)" error={errors.delaySeconds}>
          <input className={ui.input} type="number" inputMode="decimal" min={0} value={form.delaySeconds} onChange={set("delaySeconds")} />
        </FormField>
        <FormField label="Command" error={errors.command}>
          <input className={ui.input} value={form.command} onChange={set("command")} autoComplete="off" spellCheck={false} />
        </FormField>
        <FormField label="Priority" error={errors.priority}>
          <input className={ui.input} type="number" inputMode="numeric" value={form.priority} onChange={set("priority")} placeholder="0" />
        </FormField>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={ui.primaryButton} disabled={batch.isPending}>
          {batch.isPending ? "Creating…" : "Create tasks"}
        </button>
        <p aria-live="polite" className="text-sm">
          {batch.error ? (
            <span role="alert" className="text-red-700 dark:text-red-400">
              {batch.error.message}
            </span>
          ) : batch.data ? (
            <span className="text-zinc-700 dark:text-zinc-300">
              Scheduled {formatCount(batch.data.count)} task{batch.data.count === 1 ? "" : "s"}.
            </span>
          ) : null}
        </p>
      </div>
    </form>
  );
}

function SingleTaskForm() {
  const [form, setForm] = useState<TaskFormInput>({ command: "", payload: "", runAt: "", priority: "" });
  const [errors, setErrors] = useState<FieldErrors<keyof TaskFormInput>>({});
  const schedule = trpc.task.schedule.useMutation();
  const set = (key: keyof TaskFormInput) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [key]: e.target.value }));
    if (errors[key]) setErrors((x) => ({ ...x, [key]: undefined }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = validateTaskForm(form);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    schedule.mutate(checked.value);
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Create one task" className="space-y-3">
      <div className="grid grid-cols-2 gap-3">
        <FormField label="Command" error={errors.command} className="col-span-2">
          <input className={ui.input} value={form.command} onChange={set("command")} placeholder="process-data" autoComplete="off" spellCheck={false} />
        </FormField>
        <FormField label="Payload (JSON, optional)" error={errors.payload} className="col-span-2">
          <textarea className={`${ui.input} font-mono`} rows={3} value={form.payload} onChange={set("payload")} placeholder='{"ms": 2000}' spellCheck={false} />
        </FormField>
        <FormField label="Run at (empty: now)" error={errors.runAt}>
          <input className={ui.input} type="datetime-local" step={1} value={form.runAt} onChange={set("runAt")} />
        </FormField>
        <FormField label="Priority" error={errors.priority} hint="Higher runs first, -1000 to 1000.">
          <input className={ui.input} type="number" inputMode="numeric" value={form.priority} onChange={set("priority")} placeholder="0" />
        </FormField>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={ui.primaryButton} disabled={schedule.isPending}>
          {schedule.isPending ? "Scheduling…" : "Schedule task"}
        </button>
        <p aria-live="polite" className="text-sm">
          {schedule.error ? (
            <span role="alert" className="text-red-700 dark:text-red-400">
              {schedule.error.message}
            </span>
          ) : schedule.data ? (
            <span className="text-zinc-700 dark:text-zinc-300">
              Scheduled{" "}
              <Link href={`/tasks/${schedule.data.task.id}`} className={`font-mono ${ui.link}`}>
                task {shortId(schedule.data.task.id)}
              </Link>
              .
            </span>
          ) : null}
        </p>
      </div>
    </form>
  );
}

/** Create tasks: a batch of 1 to 1000 (the seed's bulk creation), or one task with payload, run time and priority. */
export function CreateTasksPanel() {
  const [mode, setMode] = useState<"batch" | "single">("batch");
  return (
    <Panel
      title="Create tasks"
      aside={
        <div role="group" aria-label="What to create" className="inline-flex rounded-md shadow-xs">
          {(["batch", "single"] as const).map((m) => (
            <button
              key={m}
              type="button"
              aria-pressed={mode === m}
              onClick={() => setMode(m)}
              className={`${ui.secondaryButton} ${m === "batch" ? "rounded-r-none" : "-ml-px rounded-l-none"} px-2.5 py-1 text-xs`}
            >
              {m === "batch" ? "Batch" : "One task"}
            </button>
          ))}
        </div>
      }
    >
      {mode === "batch" ? <BatchForm /> : <SingleTaskForm />}
    </Panel>
  );
}
