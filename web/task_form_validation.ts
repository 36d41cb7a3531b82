// Client-side checks of the "create tasks" forms: each says exactly what is wrong before anything is
// sent. The limits mirror the server's tRPC input schemas (server/task_router.ts), which stay the
// authority: whatever slips through is answered there with a BAD_REQUEST naming the field.

/** Longest command the server accepts. */
export const MAX_COMMAND_LENGTH = 1000;
/** Largest batch the server accepts (the seed's 1-1000). */
export const MAX_BATCH_COUNT = 1000;
/** Longest delay a batch may have: one year. */
export const MAX_DELAY_SECONDS = 31_536_000;
/** Priority range (higher runs first). */
export const PRIORITY_RANGE = { min: -1000, max: 1000 } as const;

/** A value JSON can hold (what `JSON.parse` returns). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Field → message, for every field that is wrong. */
export type FieldErrors<K extends string> = Partial<Record<K, string>>;

/** Either the values to send, or what is wrong with each field. */
export type Validation<T, K extends string> = { ok: true; value: T } | { ok: false; errors: FieldErrors<K> };

/** The single-task form as typed (every field is text). */
export interface TaskFormInput {
  command: string;
  /** JSON text; empty for no payload. */
  payload: string;
  /** `<input type="datetime-local">` value (local time); empty for "now". */
  runAt: string;
  /** Integer text; empty for the default (0). */
  priority: string;
}

/** What `task.schedule` receives. */
export interface TaskFormValue {
  command: string;
  payload?: JsonValue;
  /** ISO 8601 (UTC). */
  runAt?: string;
  priority?: number;
}

/** The batch form as typed. */
export interface BatchFormInput {
  command: string;
  count: string;
  delaySeconds: string;
  priority: string;
}

/** What `task.scheduleBatch` receives. */
export interface BatchFormValue {
  command: string;
  count: number;
  delaySeconds: number;
  priority?: number;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^\+?\d+(\.\d+)?$/;

function quote(text: string): string {
  return text.length > 20 ? `"${text.slice(0, 20)}…"` : `"${text}"`;
}

function checkCommand(raw: string): { value: string } | { error: string } {
  const command = raw.trim();
  if (command === "") return { error: "Command is required (for example process-data)." };
  if (command.length > MAX_COMMAND_LENGTH) {
    return { error: `Command must be at most ${MAX_COMMAND_LENGTH} characters; it has ${command.length}.` };
  }
  return { value: command };
}

function checkInteger(raw: string, name: string, min: number, max: number): { value: number | undefined } | { error: string } {
  const text = raw.trim();
  if (text === "") return { value: undefined };
  if (!INTEGER.test(text)) return { error: `${name} must be a whole number from ${min} to ${max}; got ${quote(text)}.` };
  const n = Number(text);
  if (n < min || n > max) return { error: `${name} must be a whole number from ${min} to ${max}; got ${n}.` };
  return { value: n };
}

/** Checks the single-task form; `now` is not used to reject past times (those run at once). */
export function validateTaskForm(input: TaskFormInput): Validation<TaskFormValue, keyof TaskFormInput> {
  const errors: FieldErrors<keyof TaskFormInput> = {};
  const value: TaskFormValue = { command: "" };

  const command = checkCommand(input.command);
  if ("error" in command) errors.command = command.error;
  else value.command = command.value;

  const payload = input.payload.trim();
  if (payload !== "") {
    try {
      value.payload = JSON.parse(payload) as JsonValue;
    } catch (error) {
      errors.payload = `Payload must be valid JSON (or empty): ${error instanceof Error ? error.message : String(error)}.`;
    }
  }

  const runAt = input.runAt.trim();
  if (runAt !== "") {
    const time = new Date(runAt);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(runAt) || Number.isNaN(time.getTime())) {
      errors.runAt = `Run time must be a date and time like 2030-01-31T09:30; got ${quote(runAt)}.`;
    } else {
      value.runAt = time.toISOString();
    }
  }

  const priority = checkInteger(input.priority, "Priority", PRIORITY_RANGE.min, PRIORITY_RANGE.max);
  if ("error" in priority) errors.priority = priority.error;
  else if (priority.value !== undefined) value.priority = priority.value;

  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** Checks the batch form. */
export function validateBatchForm(input: BatchFormInput): Validation<BatchFormValue, keyof BatchFormInput> {
  const errors: FieldErrors<keyof BatchFormInput> = {};
  const value: BatchFormValue = { command: "", count: 0, delaySeconds: 0 };

  const command = checkCommand(input.command);
  if ("error" in command) errors.command = command.error;
  else value.command = command.value;

  const countText = input.count.trim();
  if (countText === "") errors.count = `Count is required: a whole number from 1 to ${MAX_BATCH_COUNT}.`;
  else {
    const count = checkInteger(countText, "Count", 1, MAX_BATCH_COUNT);
    if ("error" in count) errors.count = count.error;
    else value.count = count.value ?? 0;
  }

  const delayText = input.delaySeconds.trim();
  if (delayText !== "") {
    const delay = Number(delayText);
    if (!DECIMAL.test(delayText) || delay > MAX_DELAY_SECONDS) {
      errors.delaySeconds = `Delay must be a number of seconds from 0 to ${MAX_DELAY_SECONDS}; got ${quote(delayText)}.`;
    } else value.delaySeconds = delay;
  }

  const priority = checkInteger(input.priority, "Priority", PRIORITY_RANGE.min, PRIORITY_RANGE.max);
  if ("error" in priority) errors.priority = priority.error;
  else if (priority.value !== undefined) value.priority = priority.value;

  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** Scale target check: a whole number of workers from 1 to 50. */
export function validateWorkerCount(raw: string): Validation<number, "count"> {
  const result = checkInteger(raw, "Worker count", 1, 50);
  if ("error" in result) return { ok: false, errors: { count: result.error } };
  if (result.value === undefined) return { ok: false, errors: { count: "Worker count is required: a whole number from 1 to 50." } };
  return { ok: true, value: result.value };
}
