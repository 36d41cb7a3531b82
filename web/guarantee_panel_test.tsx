import { describe, expect, test } from "vitest";
import type { GuaranteeStats } from "../server/mod.ts";
import { GuaranteePanel } from "./guarantee_panel.tsx";
import { renderHtml } from "./testing.ts";

const figures = (overrides: Partial<GuaranteeStats> = {}): GuaranteeStats => ({
  accepted: 81,
  finished: 80,
  inFlight: 1,
  queued: 0,
  lost: 0,
  ranMoreThanOnce: {
    total: 3,
    byReason: { worker_lost: 3, lease_expired: 0, dispatch_failed: 0, worker_restarted: 0, retried_after_failure: 0, other: 0 },
  },
  staleReportsRejected: 0,
  leasesSwept: 0,
  requeuedWorkerLost: 3,
  dispatchFailures: 0,
  ...overrides,
});

describe("<GuaranteePanel>", () => {
  test("says nothing was lost, with the figures that add up to it and why tasks ran again", () => {
    const html = renderHtml(<GuaranteePanel guarantees={figures()} />);
    expect(html).toContain("✓ Nothing lost");
    expect(html).toContain('data-guarantee="Accepted">81<');
    expect(html).toContain('data-guarantee="Lost">0<');
    expect(html).toContain("Ran again because: 3 worker lost.");
    expect(html).not.toContain('role="alert"');
  });

  test("raises an alert when a task is unaccounted for", () => {
    const html = renderHtml(<GuaranteePanel guarantees={figures({ lost: 2 })} />);
    expect(html).toContain('role="alert"');
    expect(html).toContain("2 tasks unaccounted for");
  });

  test("renders nothing before the first figures", () => {
    expect(renderHtml(<GuaranteePanel guarantees={null} />)).toBe("");
  });
});
