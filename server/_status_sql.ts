// Private to server/: a status condition written into SQL text.
import { TASK_STATUSES, type TaskStatusName } from "../shared/mod.ts";

/**
 * `<column> IN ('A', 'B', ...)` with the statuses written as literals, not bound: a plan that knows
 * them, cached or not, can use the partial indexes whose WHERE names statuses (see the `tasks`
 * model). Only the enum's own values are ever written; anything else throws.
 */
export function statusInSql(column: string, statuses: readonly TaskStatusName[]): string {
  for (const status of statuses) {
    if (!TASK_STATUSES.includes(status)) throw new RangeError(`Unknown task status "${String(status)}"`);
  }
  return `${column} IN (${statuses.map((s) => `'${s}'`).join(", ")})`;
}
