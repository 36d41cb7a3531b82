import { describe, expect, test } from "vitest";
import { ThroughputChart } from "./throughput_chart.tsx";
import { renderHtml } from "./testing.ts";

describe("<ThroughputChart>", () => {
  test("draws both series and says the latest values in its accessible name and legend", () => {
    const now = 1_000_000;
    const points = Array.from({ length: 30 }, (_, i) => ({ t: now - (29 - i) * 1000, completedPerSecond: i / 10, queued: 300 - i * 10 }));
    const html = renderHtml(<ThroughputChart points={points} now={now} />);
    expect(html).toContain('role="img"');
    expect(html).toContain("Now 2.9 completed per second and 10 queued; peak 2.9 per second");
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+L/);
    expect(html).toContain("Completed/s (5 s average): <strong");
    expect(html).toContain(">5/s<"); // left axis: rates up to 2.9 round to 5
    expect(html).toContain(">500<"); // right axis: queue up to 300 rounds to 500
  });

  test("leaves a gap where samples are missing (a hidden tab)", () => {
    const points = [
      { t: 0, completedPerSecond: 1, queued: 1 },
      { t: 1000, completedPerSecond: 1, queued: 1 },
      { t: 30_000, completedPerSecond: 1, queued: 1 },
      { t: 31_000, completedPerSecond: 1, queued: 1 },
    ];
    const html = renderHtml(<ThroughputChart points={points} now={31_000} />);
    const rateLine = /<path d="([^"]+)" fill="none" class="stroke-emerald-500"/.exec(html)?.[1] ?? "";
    expect(rateLine.match(/M/g)).toHaveLength(2);
  });

  test("leaves out what is not known (no rate yet, no queue sample) instead of drawing zeros", () => {
    const points = [
      { t: 0, completedPerSecond: null, queued: 3 },
      { t: 1000, completedPerSecond: 2, queued: null },
      { t: 2000, completedPerSecond: 2, queued: null },
    ];
    const html = renderHtml(<ThroughputChart points={points} now={2000} />);
    expect(/<path d="([^"]*)" fill="none" class="stroke-emerald-500"/.exec(html)?.[1]).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+$/);
    expect(html).toContain("Now 2 completed per second and 3 queued");
  });

  test("waits for data without failing", () => {
    expect(renderHtml(<ThroughputChart points={[]} now={0} />)).toContain("Waiting for the first stats.");
  });
});
