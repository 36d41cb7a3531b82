// A handler module as a user writes one, loaded by load_handler_modules_test.ts.
import { defineHandler, NonRetryableError } from "../mod.ts";

export const handlers = [
  defineHandler("greet", ({ payload }) => {
    const name = (payload as { name?: unknown } | undefined)?.name;
    if (typeof name !== "string") throw new NonRetryableError('greet: expected {"name": string}');
    return { greeting: `hello ${name}` };
  }),
];
