import { describe, expect, test } from "vitest";
import { buildTaskTimeline } from "./task_timeline.ts";
import { fakeTaskDetail } from "./testing.ts";

describe("buildTaskTimeline()", () => {
  test("a task not picked yet has no attempts", () => {
    expect(buildTaskTimeline(fakeTaskDetail())).toEqual([]);
  });

  test("an attempt lost with its worker, then one that completed: every step, by whom, and how long it took", () => {
    const task = fakeTaskDetail({
      createdAt: "2030-01-01T00:00:00.000Z",
      scheduledAt: "2030-01-01T00:00:08.000Z",
      attempts: [
        {
          attempt: 1,
          workerId: 7,
          workerName: "Worker-7",
          coordinatorId: "c1",
          pickedAt: "2030-01-01T00:00:00.250Z",
          startedAt: "2030-01-01T00:00:00.300Z",
          finishedAt: "2030-01-01T00:00:03.000Z",
          outcome: "LOST",
          error: "worker 7 lost",
        },
        {
          attempt: 2,
          workerId: 9,
          workerName: "Worker-9",
          coordinatorId: "c1",
          pickedAt: "2030-01-01T00:00:03.100Z",
          startedAt: "2030-01-01T00:00:03.150Z",
          finishedAt: "2030-01-01T00:00:08.150Z",
          outcome: "COMPLETED",
          error: null,
        },
      ],
    });
    const [first, second] = buildTaskTimeline(task);
    expect(first).toMatchObject({ attempt: 1, workerName: "Worker-7", outcome: "LOST", error: "worker 7 lost" });
    expect(first!.steps.map((s) => [s.kind, s.afterMs])).toEqual([
      ["scheduled", null],
      ["picked", 250],
      ["started", 50],
      ["lost", 2700],
    ]);
    expect(second!.steps.map((s) => [s.kind, s.at, s.afterMs])).toEqual([
      ["requeued", "2030-01-01T00:00:03.000Z", null],
      ["picked", "2030-01-01T00:00:03.100Z", 100],
      ["started", "2030-01-01T00:00:03.150Z", 50],
      ["completed", "2030-01-01T00:00:08.150Z", 5000],
    ]);
  });

  test("a task scheduled for later waits from its run time; a running attempt ends with a step still going", () => {
    const [only] = buildTaskTimeline(
      fakeTaskDetail({
        createdAt: "2030-01-01T00:00:00.000Z",
        scheduledAt: "2030-01-01T00:01:00.000Z",
        attempts: [
          {
            attempt: 1,
            workerId: 7,
            workerName: "Worker-7",
            coordinatorId: null,
            pickedAt: "2030-01-01T00:01:00.500Z",
            startedAt: null,
            finishedAt: null,
            outcome: "RUNNING",
            error: null,
          },
        ],
      }),
    );
    expect(only!.steps.map((s) => [s.kind, s.at, s.afterMs])).toEqual([
      ["scheduled", "2030-01-01T00:01:00.000Z", null],
      ["picked", "2030-01-01T00:01:00.500Z", 500],
      ["running", null, null],
    ]);
  });
});
