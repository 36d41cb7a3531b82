// Private to worker/: validating a built-in handler's payload with zod.
import type { z } from "zod";
import { NonRetryableError } from "./handler.ts";

/**
 * Parses `payload` with `schema`; throws a {@linkcode NonRetryableError} naming the handler and every
 * problem ("sleep: invalid payload: ms: expected an integer from 0 to 3600000") when it does not fit.
 */
export function parsePayload<S extends z.ZodType>(handlerName: string, schema: S, payload: unknown): z.output<S> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message,
  );
  throw new NonRetryableError(`${handlerName}: invalid payload: ${problems.join("; ")}`);
}
