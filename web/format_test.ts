import { describe, expect, test } from "vitest";
import { formatAge, formatCount, formatDuration, shortId } from "./format.ts";

describe("format", () => {
  test("formatDuration() reads like a person would say it", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(9999)).toBe("9.9 s");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(65_000)).toBe("1 min 5 s");
    expect(formatDuration(7_380_000)).toBe("2 h 3 min");
    expect(formatDuration(3 * 86_400_000 + 3_600_000)).toBe("3 d 1 h");
  });

  test("formatDuration() shows a dash for impossible values", () => {
    expect(formatDuration(-1)).toBe("–");
    expect(formatDuration(Number.NaN)).toBe("–");
  });

  test("formatAge() is relative to the clock passed in", () => {
    const now = Date.parse("2030-01-01T00:00:10Z");
    expect(formatAge("2030-01-01T00:00:09.500Z", now)).toBe("just now");
    expect(formatAge("2030-01-01T00:00:06Z", now)).toBe("4.0 s ago");
    expect(formatAge("2029-12-31T23:57:10Z", now)).toBe("3 min 0 s ago");
    expect(formatAge("not a date", now)).toBe("–");
  });

  test("formatCount() groups thousands and shortId() keeps 8 characters", () => {
    expect(formatCount(100_000)).toBe("100,000");
    expect(shortId("1a2b3c4d-0000-4000-8000-000000000000")).toBe("1a2b3c4d");
  });
});
