import { describe, expect, it } from "vitest";
import { coalesce } from "./_coalesce.ts";

describe("coalesce()", () => {
  it("`coalesce()` shares a run in flight that started after the caller's notBefore, and only that", async () => {
    let runs = 0;
    const release: (() => void)[] = [];
    const load = coalesce(() => {
      const n = ++runs;
      return new Promise<number>((resolve) => release.push(() => resolve(n)));
    });
    const before = performance.now();
    await new Promise((r) => setTimeout(r, 2));
    const a = load(before);
    const b = load(before); // the run started after `before`: shared
    const c = load(performance.now()); // a change arrived after the run started: a new run
    expect(runs).toBe(2);
    for (const r of release) r();
    expect([await a, await b, await c]).toEqual([1, 1, 2]);
    // Settled: the next call starts anew.
    const d = load(before);
    expect(runs).toBe(3);
    release[2]!();
    expect(await d).toBe(3);
  });

  it("`coalesce()` shares a failure with the callers of that run only", async () => {
    let fail = true;
    const load = coalesce(() => (fail ? Promise.reject(new Error("down")) : Promise.resolve("up")));
    const start = performance.now() - 1;
    await expect(Promise.all([load(start), load(start)])).rejects.toThrow("down");
    fail = false;
    expect(await load(start)).toBe("up");
  });
});
