import { describe, expect, it } from "vitest";
import { createQueueDepthSamples, QUEUE_DEPTH_KEEP_MS } from "./queue_depth_samples.ts";

describe("createQueueDepthSamples()", () => {
  it("`createQueueDepthSamples()` keeps the latest sample of each second", () => {
    const ring = createQueueDepthSamples();
    ring.record(10_100, 1);
    ring.record(10_900, 2);
    ring.record(11_000, 3);
    expect(ring.between(0, 20_000)).toEqual([
      { atMs: 10_900, depth: 2 },
      { atMs: 11_000, depth: 3 },
    ]);
  });

  it("`createQueueDepthSamples()` forgets samples older than an hour and ignores ones older than the last", () => {
    const ring = createQueueDepthSamples();
    ring.record(1_000, 1);
    ring.record(5_000, 2);
    ring.record(3_000, 9); // out of order: dropped
    ring.record(1_000 + QUEUE_DEPTH_KEEP_MS + 1, 3);
    expect(ring.between(0, Infinity).map((s) => s.depth)).toEqual([2, 3]);
  });
});
