import { describe, expect, test } from "vitest";
import { taskActions } from "./task_actions.ts";

describe("taskActions()", () => {
  test("cancel before the end, retry after a failure or a cancel, run again after success", () => {
    for (const status of ["SCHEDULED", "PICKED", "RUNNING"] as const) {
      expect(taskActions(status)).toEqual({ cancel: true, retry: false, runAgain: false });
    }
    for (const status of ["FAILED", "DEAD", "CANCELLED"] as const) {
      expect(taskActions(status)).toEqual({ cancel: false, retry: true, runAgain: false });
    }
    expect(taskActions("COMPLETED")).toEqual({ cancel: false, retry: false, runAgain: true });
  });
});
