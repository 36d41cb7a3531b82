import { describe, expect, test } from "vitest";
import { taskActions } from "./task_actions.ts";

describe("taskActions()", () => {
  test("cancel before the end, run again after it", () => {
    for (const status of ["SCHEDULED", "PICKED", "RUNNING"] as const) expect(taskActions(status)).toEqual({ cancel: true, runAgain: false });
    for (const status of ["COMPLETED", "FAILED", "DEAD", "CANCELLED"] as const) expect(taskActions(status)).toEqual({ cancel: false, runAgain: true });
  });
});
