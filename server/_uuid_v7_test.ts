import { describe, expect, it } from "vitest";
import { uuidV7s } from "./_uuid_v7.ts";

describe("uuidV7s()", () => {
  it("`uuidV7s()` makes distinct version 7 UUIDs of the RFC 9562 variant that hold the time", () => {
    const now = Date.UTC(2026, 10, 26, 23, 40, 0, 123);
    const ids = uuidV7s(1000, now);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
    }
  });

  it("`uuidV7s()` ids increase within a call, into the next millisecond when the counter runs out", () => {
    for (const count of [1, 2, 1000, 4095, 5000]) {
      const ids = uuidV7s(count, 1_700_000_000_000);
      expect([...ids].sort()).toEqual(ids);
    }
    const spill = uuidV7s(5000, 1_700_000_000_000);
    expect(parseInt(spill.at(-1)!.slice(0, 8) + spill.at(-1)!.slice(9, 13), 16)).toBe(1_700_000_000_001);
  });

  it("`uuidV7s()` rejects a count that is not a non-negative integer", () => {
    expect(uuidV7s(0)).toEqual([]);
    expect(() => uuidV7s(-1)).toThrow(RangeError);
    expect(() => uuidV7s(1.5)).toThrow("'count' must be a non-negative integer: current value is 1.5");
  });
});
