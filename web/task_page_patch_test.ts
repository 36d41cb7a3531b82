import { describe, expect, test } from "vitest";
import type { TaskChangeEvent, TaskChangeRow } from "../server/mod.ts";
import { latestRows, needsRefetch, patchTaskPage } from "./task_page_patch.ts";
import { fakeTask } from "./testing.ts";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const row = (id: string, status: TaskChangeRow["status"], progress = 0, workerId: number | null = 7): TaskChangeRow => ({
  id,
  status,
  attempt: 1,
  workerId,
  command: "process-data",
  progress,
});
const update = (...rows: TaskChangeRow[]): TaskChangeEvent => ({ id: 1, op: "U", n: rows.length, rows });
const page = { items: [fakeTask({ id: A, status: "RUNNING", attempt: 1, workerId: 7, workerName: "Worker-7", progress: 10 })], nextCursor: null };

describe("latestRows()", () => {
  test("keeps the last change of each task", () => {
    const rows = latestRows([update(row(A, "RUNNING", 10)), update(row(A, "RUNNING", 50), row(B, "PICKED"))]);
    expect(rows.get(A)?.progress).toBe(50);
    expect(rows.get(B)?.status).toBe("PICKED");
  });
});

describe("patchTaskPage()", () => {
  test("updates progress, status and worker of shown tasks in place", () => {
    const patched = patchTaskPage(page, latestRows([update(row(A, "COMPLETED", 100, 9))]));
    expect(patched.items[0]).toMatchObject({ status: "COMPLETED", progress: 100, workerId: 9, workerName: "Worker-9" });
    expect(page.items[0]!.status).toBe("RUNNING");
  });

  test("returns the same page when none of its tasks changed", () => {
    expect(patchTaskPage(page, latestRows([update(row(B, "RUNNING"))]))).toBe(page);
    expect(patchTaskPage(page, latestRows([update(row(A, "RUNNING", 10))]))).toBe(page);
  });
});

describe("needsRefetch()", () => {
  const first = { firstPage: true, filter: {} };
  test("is false for progress reports of shown tasks (patched in place)", () => {
    expect(needsRefetch([update(row(A, "RUNNING", 60))], page, first)).toBe(false);
  });

  test("is true when a shown task changes status (new times and duration)", () => {
    expect(needsRefetch([update(row(A, "COMPLETED", 100))], page, first)).toBe(true);
  });

  test("is true for new tasks on the first page only, and only when they match the filter", () => {
    const insert: TaskChangeEvent = { id: 2, op: "I", n: 1, rows: [row(B, "SCHEDULED", 0, null)] };
    expect(needsRefetch([insert], page, first)).toBe(true);
    expect(needsRefetch([insert], page, { firstPage: false, filter: {} })).toBe(false);
    expect(needsRefetch([insert], page, { firstPage: true, filter: { status: "FAILED" } })).toBe(false);
    expect(needsRefetch([insert], page, { firstPage: true, filter: { status: "unsuccessful" } })).toBe(false);
    expect(needsRefetch([insert], page, { firstPage: true, filter: { status: "SCHEDULED" } })).toBe(true);
    expect(needsRefetch([insert], page, { firstPage: true, filter: { command: "other" } })).toBe(false);
  });

  test("is true after a resync or a statement too big to list its rows", () => {
    expect(needsRefetch([{ id: 3, op: "R", n: 0, rows: null }], page, { firstPage: false, filter: {} })).toBe(true);
    expect(needsRefetch([{ id: 4, op: "U", n: 500, rows: null }], page, { firstPage: false, filter: {} })).toBe(true);
  });
});
