import { describe, expect, test } from "vitest";
import { validateBatchForm, validateTaskForm, validateWorkerCount } from "./task_form_validation.ts";

const task = { command: "process-data", payload: "", runAt: "", priority: "" };
const batch = { command: "process-data", count: "50", delaySeconds: "0", priority: "" };

describe("validateTaskForm()", () => {
  test("accepts a command alone (due now, default priority)", () => {
    expect(validateTaskForm(task)).toEqual({ ok: true, value: { command: "process-data" } });
  });

  test("parses the payload JSON, the local run time and the priority", () => {
    const result = validateTaskForm({ command: " sleep ", payload: '{"ms": 200}', runAt: "2030-01-31T09:30", priority: "-5" });
    expect(result).toEqual({
      ok: true,
      value: { command: "sleep", payload: { ms: 200 }, runAt: new Date(2030, 0, 31, 9, 30).toISOString(), priority: -5 },
    });
  });

  test("says exactly what is wrong with each bad field", () => {
    const result = validateTaskForm({ command: "  ", payload: '{"ms": ', runAt: "tomorrow", priority: "1.5" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.command).toBe("Command is required (for example process-data).");
    expect(result.errors.payload).toMatch(/^Payload must be valid JSON \(or empty\): .+\.$/);
    expect(result.errors.runAt).toBe('Run time must be a date and time like 2030-01-31T09:30; got "tomorrow".');
    expect(result.errors.priority).toBe('Priority must be a whole number from -1000 to 1000; got "1.5".');
  });

  test("rejects a priority out of range and a command over 1000 characters", () => {
    const result = validateTaskForm({ ...task, command: "x".repeat(1001), priority: "1001" });
    expect(result).toEqual({
      ok: false,
      errors: {
        command: "Command must be at most 1000 characters; it has 1001.",
        priority: "Priority must be a whole number from -1000 to 1000; got 1001.",
      },
    });
  });

  test("rejects an impossible date", () => {
    const result = validateTaskForm({ ...task, runAt: "2030-02-31T25:00" });
    expect(result.ok).toBe(false);
  });
});

describe("validateBatchForm()", () => {
  test("accepts the seed's bulk creation: 50 process-data tasks now", () => {
    expect(validateBatchForm(batch)).toEqual({ ok: true, value: { command: "process-data", count: 50, delaySeconds: 0 } });
  });

  test("accepts 1 and 1000, a fractional delay and a priority", () => {
    expect(validateBatchForm({ ...batch, count: "1" }).ok).toBe(true);
    expect(validateBatchForm({ ...batch, count: "1000", delaySeconds: "2.5", priority: "10" })).toEqual({
      ok: true,
      value: { command: "process-data", count: 1000, delaySeconds: 2.5, priority: 10 },
    });
  });

  test("names the range when the count is 0, 1001, empty or not a whole number", () => {
    const message = (count: string) => {
      const result = validateBatchForm({ ...batch, count });
      return result.ok ? null : result.errors.count;
    };
    expect(message("0")).toBe("Count must be a whole number from 1 to 1000; got 0.");
    expect(message("1001")).toBe("Count must be a whole number from 1 to 1000; got 1001.");
    expect(message("")).toBe("Count is required: a whole number from 1 to 1000.");
    expect(message("2.5")).toBe('Count must be a whole number from 1 to 1000; got "2.5".');
  });

  test("rejects a negative or huge delay", () => {
    for (const delaySeconds of ["-1", "31536001", "soon"]) {
      const result = validateBatchForm({ ...batch, delaySeconds });
      expect(result.ok ? null : result.errors.delaySeconds).toMatch(/^Delay must be a number of seconds from 0 to 31536000; got /);
    }
  });
});

describe("validateWorkerCount()", () => {
  test("accepts 1 to 50 and explains anything else", () => {
    expect(validateWorkerCount("50")).toEqual({ ok: true, value: 50 });
    expect(validateWorkerCount("51")).toEqual({ ok: false, errors: { count: "Worker count must be a whole number from 1 to 50; got 51." } });
    expect(validateWorkerCount("")).toEqual({ ok: false, errors: { count: "Worker count is required: a whole number from 1 to 50." } });
  });
});
