import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { TaskChangeEvent } from "../server/mod.ts";
import { createTaskChangeFeed, TASK_CHANGE_FLUSH_MS } from "./live_events.tsx";

const event = (id: number): TaskChangeEvent => ({ id, op: "U", n: 0, rows: [] });

describe("createTaskChangeFeed()", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  test("delivers a burst of changes to every listener at once, in order", () => {
    const feed = createTaskChangeFeed();
    const a = vi.fn();
    const b = vi.fn();
    feed.subscribe(a);
    const unsubscribeB = feed.subscribe(b);
    feed.push(event(1));
    feed.push(event(2));
    expect(a).not.toHaveBeenCalled();
    vi.advanceTimersByTime(TASK_CHANGE_FLUSH_MS);
    expect(a).toHaveBeenCalledExactlyOnceWith([event(1), event(2)]);
    expect(b).toHaveBeenCalledTimes(1);
    unsubscribeB();
    feed.push(event(3));
    vi.advanceTimersByTime(TASK_CHANGE_FLUSH_MS);
    expect(a).toHaveBeenLastCalledWith([event(3)]);
    expect(b).toHaveBeenCalledTimes(1);
  });
});
