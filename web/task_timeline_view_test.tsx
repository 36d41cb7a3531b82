import { describe, expect, test } from "vitest";
import { buildTaskTimeline } from "./task_timeline.ts";
import { TaskTimelineView } from "./task_timeline_view.tsx";
import { fakeTaskDetail, renderHtml } from "./testing.ts";

describe("<TaskTimelineView>", () => {
  test("lists each attempt's steps with the worker, times and durations, and the attempt's error", () => {
    const attempts = buildTaskTimeline(
      fakeTaskDetail({
        attempts: [
          {
            attempt: 1,
            workerId: 7,
            workerName: "Worker-7",
            coordinatorId: null,
            pickedAt: "2030-01-01T00:00:00.250Z",
            startedAt: "2030-01-01T00:00:00.300Z",
            finishedAt: "2030-01-01T00:00:01.300Z",
            outcome: "FAILED",
            error: "boom",
          },
        ],
      }),
    );
    const html = renderHtml(<TaskTimelineView attempts={attempts} />);
    expect(html).toContain('data-attempt="1" data-outcome="FAILED"');
    expect(html).toContain("Picked by Worker-7");
    expect(html).toContain('data-step="started"');
    expect(html).toContain("+1.0 s");
    expect(html).toContain(">boom<");
  });

  test("says the task is waiting when there is no attempt yet", () => {
    expect(renderHtml(<TaskTimelineView attempts={[]} />)).toContain("waits in the queue");
  });
});
