import { describe, expect, test } from "vitest";
import { NoWorkersBanner, StatsCards } from "./stats_cards.tsx";
import { fakeStats, renderHtml } from "./testing.ts";

function stat(html: string, label: string): string | undefined {
  return new RegExp(`data-stat="${label}">([^<]*)<`).exec(html)?.[1];
}

describe("<StatsCards>", () => {
  test("shows total, pending, running, completed, failed, dead and workers online", () => {
    const html = renderHtml(
      <StatsCards stats={fakeStats({ SCHEDULED: 1200, PICKED: 2, RUNNING: 3, COMPLETED: 98_765, FAILED: 4, DEAD: 5 }, 3)} />,
    );
    expect(stat(html, "Total")).toBe("99,979");
    expect(stat(html, "Pending")).toBe("1,200");
    expect(stat(html, "Running")).toBe("5");
    expect(stat(html, "Completed")).toBe("98,765");
    expect(stat(html, "Failed")).toBe("4");
    expect(stat(html, "Dead")).toBe("5");
    expect(stat(html, "Workers online")).toBe("3");
    expect(stat(html, "Cancelled")).toBeUndefined();
  });

  test("adds a cancelled count only when some task was cancelled", () => {
    expect(stat(renderHtml(<StatsCards stats={fakeStats({ CANCELLED: 2 })} />), "Cancelled")).toBe("2");
  });

  test("shows dashes, busy, until the first stats arrive", () => {
    const html = renderHtml(<StatsCards stats={null} />);
    expect(html).toContain('aria-busy="true"');
    expect(stat(html, "Total")).toBe("–");
  });
});

describe("<NoWorkersBanner>", () => {
  test("is an alert saying no worker is online and how many tasks wait", () => {
    const html = renderHtml(<NoWorkersBanner pending={12} controlsHref="#worker-controls" />);
    expect(html).toContain('role="alert"');
    expect(html).toContain("No worker is online.");
    expect(html).toContain("12 tasks wait in the queue");
    expect(html).toContain('href="#worker-controls"');
    expect(renderHtml(<NoWorkersBanner pending={1} />)).toContain("1 task waits");
  });
});
