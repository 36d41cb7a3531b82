import { describe, expect, test } from "vitest";
import { formatSeedTime, parseIsoTimestamp, unixSeconds } from "./seed_time.ts";

describe("formatSeedTime()", () => {
  test("formats UTC as YYYY-MM-DD HH:MM:SS", () => {
    expect(formatSeedTime(new Date("2026-01-23T15:30:08.900Z"))).toBe("2026-01-23 15:30:08");
  });
  test("answers an empty string for an unset time", () => {
    expect(formatSeedTime(null)).toBe("");
  });
});

describe("parseIsoTimestamp()", () => {
  test("accepts the seed's examples", () => {
    expect(unixSeconds(parseIsoTimestamp("2026-01-23T15:30:00+00:00")!)).toBe(1769182200);
    expect(parseIsoTimestamp("2026-01-23T15:00:00Z")?.toISOString()).toBe("2026-01-23T15:00:00.000Z");
  });
  test("reads a time without an offset as UTC", () => {
    expect(parseIsoTimestamp("2026-01-23T15:00:00")?.toISOString()).toBe("2026-01-23T15:00:00.000Z");
  });
  test("rejects impossible dates and non-ISO text", () => {
    expect(parseIsoTimestamp("2026-02-30T10:00:00Z")).toBeNull();
    expect(parseIsoTimestamp("2026-13-01T10:00:00Z")).toBeNull();
    expect(parseIsoTimestamp("tomorrow")).toBeNull();
    expect(parseIsoTimestamp("1737645000")).toBeNull();
    expect(parseIsoTimestamp("2026-01-23T25:00:00Z")).toBeNull();
  });
});
