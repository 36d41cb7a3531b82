import { describe, expect, it } from "vitest";
import { retryWithJitter } from "./_retry.ts";

describe("retryWithJitter()", () => {
  it("retries a retryable error until the call succeeds", async () => {
    let tries = 0;
    const result = await retryWithJitter(
      async () => {
        if (++tries < 4) throw new Error("flaky");
        return "ok";
      },
      { shouldRetry: () => true, initialDelayMs: 1, maxDelayMs: 5 },
    );
    expect(result).toBe("ok");
    expect(tries).toBe(4);
  });

  it("throws at once an error that is not retryable", async () => {
    let tries = 0;
    const call = () => {
      tries++;
      return Promise.reject(new Error("fatal"));
    };
    await expect(retryWithJitter(call, { shouldRetry: () => false })).rejects.toThrow("fatal");
    expect(tries).toBe(1);
  });

  it("gives up with the last error once maxElapsedMs passed", async () => {
    let clock = 0;
    let tries = 0;
    const call = () => {
      tries++;
      clock += 1000;
      return Promise.reject(new Error(`try ${tries}`));
    };
    const run = retryWithJitter(call, { shouldRetry: () => true, initialDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 2500, now: () => clock });
    await expect(run).rejects.toThrow("try 3");
  });

  it("waits a random delay up to the doubling ceiling, capped at maxDelayMs", async () => {
    const delays: number[] = [];
    let tries = 0;
    await retryWithJitter(
      async () => {
        if (++tries < 6) throw new Error("flaky");
      },
      { shouldRetry: () => true, initialDelayMs: 2, maxDelayMs: 10, random: () => 0.999, onRetry: (_e, _n, d) => delays.push(d) },
    );
    expect(delays).toEqual([2, 4, 8, 10, 10]);
  });

  it("stops waiting when its signal aborts", async () => {
    const controller = new AbortController();
    const run = retryWithJitter(() => Promise.reject(new Error("down")), {
      shouldRetry: () => true,
      initialDelayMs: 60_000,
      maxDelayMs: 60_000,
      random: () => 1,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toThrow("down");
  });

  it("goes on from a first try the caller made: waits first, its budget counted from that try", async () => {
    let clock = 5000;
    const seen: string[] = [];
    const result = await retryWithJitter(
      async (tryNumber) => {
        seen.push(`call ${tryNumber}`);
        if (tryNumber < 3) throw new Error(`try ${tryNumber}`);
        return "ok";
      },
      { shouldRetry: () => true, initialDelayMs: 1, maxDelayMs: 2, onRetry: (e, n) => seen.push(`wait after ${n}: ${(e as Error).message}`), now: () => clock },
      { error: new Error("try 1"), startedAt: 5000 },
    );
    expect(result).toBe("ok");
    expect(seen).toEqual(["wait after 1: try 1", "call 2", "wait after 2: try 2", "call 3"]);

    clock = 9000; // the first try was made at 5000: a 3000 ms budget is spent before any wait
    const late = retryWithJitter(async () => "never", { shouldRetry: () => true, maxElapsedMs: 3000, now: () => clock }, { error: new Error("first"), startedAt: 5000 });
    await expect(late).rejects.toThrow("first");
    const fatal = retryWithJitter(async () => "never", { shouldRetry: () => false }, { error: new Error("not retryable"), startedAt: 0 });
    await expect(fatal).rejects.toThrow("not retryable");
  });

  it("refuses options that make no sense", async () => {
    await expect(retryWithJitter(async () => 1, { shouldRetry: () => true, initialDelayMs: 0 })).rejects.toThrow(RangeError);
  });
});
