import { describe, expect, test } from "vitest";
import { addThroughputSample, historyPoints, niceCeiling, type ThroughputSample, throughputPoints } from "./throughput_series.ts";

const at = (s: number, completed: number, queued = 0): ThroughputSample => ({ t: s * 1000, completed, queued });

describe("throughput series", () => {
  test("addThroughputSample() keeps the window and never goes back in time", () => {
    let series: ThroughputSample[] = [];
    for (let s = 0; s <= 10; s++) series = addThroughputSample(series, at(s, s), 5000);
    expect(series.map((x) => x.t / 1000)).toEqual([5, 6, 7, 8, 9, 10]);
    series = addThroughputSample(series, at(10, 99), 5000);
    expect(series.at(-1)).toEqual(at(10, 99));
    expect(series).toHaveLength(6);
  });

  test("throughputPoints() averages completions over the rate window", () => {
    // Two completions a second, steadily.
    const series = Array.from({ length: 12 }, (_, s) => at(s, 2 * s, 10 - Math.min(10, s)));
    const points = throughputPoints(series, 5000);
    expect(points.map((p) => p.completedPerSecond)).toEqual([null, null, null, null, null, 2, 2, 2, 2, 2, 2, 2]);
    expect(points.map((p) => p.queued)).toEqual(series.map((s) => s.queued));
  });

  test("throughputPoints() has no rate until the page has a window of samples (no spike from one wave)", () => {
    // A wave of 15 completions one second after the page opened.
    const points = throughputPoints([at(0, 100), at(1, 115), at(2, 115), at(5, 115), at(6, 130)], 5000);
    expect(points.map((p) => p.completedPerSecond)).toEqual([null, null, null, 3, 3]);
  });

  test("historyPoints() puts each server bucket at its end, per second, up to where live samples begin", () => {
    const buckets = [
      { t: "2030-01-01T00:00:00.000Z", completed: 10, queued: 40 },
      { t: "2030-01-01T00:00:05.000Z", completed: 15, queued: null },
      { t: "2030-01-01T00:00:10.000Z", completed: 2, queued: 5 },
    ];
    const until = Date.parse("2030-01-01T00:00:12.000Z");
    expect(historyPoints(buckets, 5, until)).toEqual([
      { t: Date.parse("2030-01-01T00:00:05.000Z"), completedPerSecond: 2, queued: 40 },
      { t: Date.parse("2030-01-01T00:00:10.000Z"), completedPerSecond: 3, queued: null },
    ]);
  });

  test("throughputPoints() never reports a negative rate (the database was reset)", () => {
    const points = throughputPoints([at(0, 50), at(5, 0), at(10, 5)], 5000);
    expect(points.map((p) => p.completedPerSecond)).toEqual([null, 0, 1]);
  });

  test("niceCeiling() rounds axis maxima up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.4, 1, 1.2, 3, 7, 12, 20, 21, 480, 1001].map(niceCeiling)).toEqual([1, 1, 1, 2, 5, 10, 20, 20, 50, 500, 2000]);
  });
});
