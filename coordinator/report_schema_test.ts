import { describe, expect, it } from "vitest";
import { parseStatusReport, statusReportSchema } from "./report_schema.ts";

const valid = {
  task_id: "0190b6d2-7f3a-7c11-8a2b-3c4d5e6f7a8b",
  status: "COMPLETE",
  attempt: 1,
  worker_id: 4_000_000_000,
  result_json: '{"ok":true}',
  error: "",
  not_retryable: false,
  started_at_ms: 1_764_000_000_000,
};

describe("parseStatusReport", () => {
  it("gives the schema's verdict and output, plain reports and odd ones alike", () => {
    const variants: Record<string, unknown>[] = [
      valid,
      { ...valid, status: "STARTED", started_at_ms: 0 },
      { ...valid, task_id: valid.task_id.toUpperCase() },
      { ...valid, task_id: "00000000-0000-0000-0000-000000000000" },
      { ...valid, task_id: "0190b6d2-7f3a-9c11-8a2b-3c4d5e6f7a8b" }, // version 9
      { ...valid, task_id: "not-a-uuid" },
      { ...valid, status: "DONE" },
      { ...valid, attempt: -1 },
      { ...valid, attempt: 1.5 },
      { ...valid, worker_id: 2 ** 32 },
      { ...valid, result_json: "x".repeat(1_000_001) },
      { ...valid, error: "e".repeat(10_001) },
      { ...valid, not_retryable: "no" },
      { ...valid, started_at_ms: undefined },
      { ...valid, started_at_ms: "" },
      { ...valid, started_at_ms: "1764000000000" },
      { ...valid, started_at_ms: -5 },
      { ...valid, extra: "dropped" },
    ];
    for (const raw of variants) {
      const fast = parseStatusReport(raw);
      const schema = statusReportSchema.safeParse(raw);
      expect(fast.success, JSON.stringify(raw).slice(0, 120)).toBe(schema.success);
      if (fast.success && schema.success) expect(fast.data).toEqual(schema.data);
      if (!fast.success && !schema.success) expect(fast.error.issues).toEqual(schema.error.issues);
    }
  });
});
