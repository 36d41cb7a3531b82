import { describe, expect, test } from "vitest";
import { Router } from "wouter";
import { TaskTable, taskDurationText } from "./task_table.tsx";
import { fakeTask, renderHtml } from "./testing.ts";

const now = Date.parse("2030-01-01T00:01:00.000Z");

describe("<TaskTable>", () => {
  test("a row per task: link to its page, command, status, worker, attempt, duration, progress", () => {
    const task = fakeTask({
      id: "1a2b3c4d-0000-4000-8000-000000000000",
      status: "RUNNING",
      attempt: 2,
      workerId: 7,
      workerName: "Worker-7",
      progress: 40,
      startedAt: "2030-01-01T00:00:57.000Z",
    });
    const html = renderHtml(
      <Router ssrPath="/">
        <TaskTable tasks={[task]} now={now} caption="Tasks" />
      </Router>,
    );
    expect(html).toContain('href="/tasks/1a2b3c4d-0000-4000-8000-000000000000"');
    expect(html).toContain(">1a2b3c4d</a>");
    expect(html).toContain(">RUNNING<");
    expect(html).toContain(">Worker-7<");
    expect(html).toMatch(/>2\/3</);
    expect(html).toContain("3.0 s…");
    expect(html).toContain('role="progressbar" aria-label="Progress of task 1a2b3c4d" aria-valuemin="0" aria-valuemax="100" aria-valuenow="40"');
    expect(html).toContain("<caption");
  });

  test("a completed task shows its run time and a full bar", () => {
    const html = renderHtml(
      <Router ssrPath="/">
        <TaskTable tasks={[fakeTask({ status: "COMPLETED", durationMs: 5012, progress: 0 })]} now={now} caption="Tasks" />
      </Router>,
    );
    expect(html).toContain("5.0 s");
    expect(html).toContain('aria-valuenow="100"');
  });
});

describe("taskDurationText()", () => {
  test("says when a task scheduled for later is due", () => {
    expect(taskDurationText(fakeTask({ scheduledAt: "2030-01-01T00:02:00.000Z" }), now)).toBe("due in 1 min 0 s");
    expect(taskDurationText(fakeTask({ scheduledAt: "2030-01-01T00:00:00.000Z" }), now)).toBe("–");
  });
});
