import { describe, expect, test } from "vitest";
import { retryDelayMs } from "./retry_delay.ts";

describe("retryDelayMs()", () => {
  test("doubles per attempt, within the upper half of the ceiling", () => {
    const o = { baseMs: 1000, maxMs: 60_000 };
    expect(retryDelayMs(1, o, () => 0)).toBe(500);
    expect(retryDelayMs(1, o, () => 0.999999)).toBe(1000);
    expect(retryDelayMs(3, o, () => 0)).toBe(2000);
  });
  test("never exceeds the cap", () => {
    expect(retryDelayMs(40, { baseMs: 1000, maxMs: 60_000 }, () => 0.999999)).toBe(60_000);
  });
  test("rejects a non-positive attempt", () => {
    expect(() => retryDelayMs(0, { baseMs: 1, maxMs: 1 })).toThrow(RangeError);
  });
});
