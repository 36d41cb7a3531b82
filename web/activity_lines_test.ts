import { describe, expect, test } from "vitest";
import { type ActivityLine, prependActivity } from "./activity_lines.ts";

const line = (n: number, epoch = "e1"): ActivityLine => ({
  id: n,
  key: `${epoch}:${n}`,
  ts: new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString(),
  level: "info",
  msg: `event ${n}`,
});

describe("prependActivity()", () => {
  test("shows the newest first", () => {
    expect(prependActivity([], [line(1), line(2), line(3)]).map((l) => l.id)).toEqual([3, 2, 1]);
    expect(prependActivity([line(2), line(1)], [line(3)]).map((l) => l.id)).toEqual([3, 2, 1]);
  });

  test("keeps only the last 250", () => {
    const all = Array.from({ length: 300 }, (_, i) => line(i + 1));
    const shown = prependActivity([], all);
    expect(shown).toHaveLength(250);
    expect(shown[0]!.id).toBe(300);
    expect(shown.at(-1)!.id).toBe(51);
  });

  test("skips entries already shown (a resubscription replays the backlog) and returns the same list when nothing is new", () => {
    const shown = prependActivity([], [line(1), line(2)]);
    expect(prependActivity(shown, [line(1), line(2)])).toBe(shown);
    expect(prependActivity(shown, [line(2), line(3)]).map((l) => l.key)).toEqual(["e1:3", "e1:2", "e1:1"]);
  });

  test("keeps entries of a restarted server apart from the old ones (ids restart, epochs differ)", () => {
    const shown = prependActivity([], [line(1), line(2)]);
    expect(prependActivity(shown, [line(1, "e2")]).map((l) => l.key)).toEqual(["e2:1", "e1:2", "e1:1"]);
  });
});
