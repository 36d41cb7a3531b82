import { describe, expect, test } from "vitest";
import { WorkerRegistry } from "./worker_registry.ts";

const beat = (id: number, extra: Partial<{ capacity: number; handlers: string[]; draining: boolean; address: string }> = {}) => ({
  id,
  address: extra.address ?? `h:${id}`,
  capacity: extra.capacity ?? 5,
  handlers: extra.handlers ?? [],
  inFlight: 0,
  draining: extra.draining ?? false,
});
const tasks = (n: number, command = "x") => Array.from({ length: n }, (_, i) => ({ id: `t${i}-${Math.random()}`, attempt: 1, command }));

function registry() {
  const closed: string[] = [];
  const r = new WorkerRegistry<string>((a) => a, (c) => closed.push(c));
  return { r, closed };
}

describe("WorkerRegistry.place()", () => {
  test("gives 8 tasks on 4 idle workers exactly 2 each, at once", () => {
    const { r } = registry();
    for (const id of [1, 2, 3, 4]) r.beat(beat(id), 0);
    const { placed } = r.place(tasks(8));
    const counts = new Map<number, number>();
    for (const p of placed) counts.set(p.worker.id, (counts.get(p.worker.id) ?? 0) + 1);
    expect([...counts.values()]).toEqual([2, 2, 2, 2]);
  });

  test("keeps the rotation across calls, one task at a time", () => {
    const { r } = registry();
    for (const id of [1, 2, 3, 4]) r.beat(beat(id), 0);
    const order = Array.from({ length: 8 }, () => r.place(tasks(1)).placed[0]!.worker.id);
    expect(order).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  test("never exceeds a worker's capacity and returns what does not fit", () => {
    const { r } = registry();
    r.beat(beat(1, { capacity: 2 }), 0);
    const { placed, unplaced } = r.place(tasks(3));
    expect(placed).toHaveLength(2);
    expect(unplaced).toHaveLength(1);
    expect(r.freeSlots()).toBe(0);
  });

  test("sends a command only to workers with its handler, when some worker has one", () => {
    const { r } = registry();
    r.beat(beat(1), 0);
    r.beat(beat(2, { handlers: ["resize"] }), 0);
    const { placed } = r.place(tasks(3, "resize"));
    expect(placed.map((p) => p.worker.id)).toEqual([2, 2, 2]);
    expect(r.place(tasks(2, "other")).placed.map((p) => p.worker.id).sort()).toEqual([1, 2]);
  });

  test("skips draining workers", () => {
    const { r } = registry();
    r.beat(beat(1, { draining: true }), 0);
    expect(r.freeSlots()).toBe(0);
    expect(r.place(tasks(1)).unplaced).toHaveLength(1);
  });
});

describe("WorkerRegistry liveness", () => {
  test("reports workers silent for longer than the timeout", () => {
    const { r } = registry();
    r.beat(beat(1), 0);
    r.beat(beat(2), 10_000);
    expect(r.silentWorkers(16_000, 15_000)).toEqual([1]);
  });

  test("treats a new address under a known id as a restart, returning what it held", () => {
    const { r, closed } = registry();
    r.beat(beat(1), 0);
    const [t] = tasks(1);
    const [u] = tasks(1);
    r.hold(1, t!.id, 1);
    r.hold(1, u!.id, 1);
    expect(r.markStarted(u!.id, 1, 1)).toBe(true);
    expect(r.beat(beat(1, { address: "h:99" }), 1)).toEqual({ result: "restarted", lost: [t!.id, u!.id], lostStarted: [u!.id] });
    expect(closed).toEqual(["h:1"]);
  });

  test("release() frees the slot of the attempt", () => {
    const { r } = registry();
    r.beat(beat(1, { capacity: 1 }), 0);
    const { placed } = r.place(tasks(1));
    expect(r.freeSlots()).toBe(0);
    expect(r.release(placed[0]!.task.id)).toBe(1);
    expect(r.freeSlots()).toBe(1);
  });
});

describe("WorkerRegistry.slotPlan()", () => {
  test("interleaves workers with free slots, round-robin, up to the limit", () => {
    const { r } = registry();
    r.beat(beat(1, { capacity: 2 }), 0);
    r.beat(beat(2, { capacity: 1 }), 0);
    r.beat(beat(3, { capacity: 2 }), 0);
    expect(r.slotPlan(10)).toEqual([1, 2, 3, 1, 3]);
    expect(r.slotPlan(2)).toEqual([1, 2]);
  });

  test("continues the rotation after the part of a plan that was used: 8 tasks one at a time on 4 workers go 1, 2, 3, 4, 1, 2, 3, 4", () => {
    const { r } = registry();
    for (const id of [1, 2, 3, 4]) r.beat(beat(id), 0);
    const order: number[] = [];
    for (let i = 0; i < 8; i++) {
      const plan = r.slotPlan(20)!;
      order.push(plan[0]!);
      r.hold(plan[0]!, `t${i}`, 1);
      r.planUsed(plan, 1);
    }
    expect(order).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  test("leaves out full, draining and suspended workers", () => {
    const { r } = registry();
    r.beat(beat(1, { capacity: 1 }), 0);
    r.beat(beat(2, { draining: true }), 0);
    r.beat(beat(3), 0);
    r.get(3)!.suspended = true;
    r.hold(1, "t", 1);
    expect(r.slotPlan(5)).toEqual([]);
  });

  test("is null when workers offer different handlers (placement must see each task's command)", () => {
    const { r } = registry();
    r.beat(beat(1, { handlers: ["gpu", "noop"] }), 0);
    r.beat(beat(2, { handlers: ["noop"] }), 0);
    expect(r.slotPlan(5)).toBeNull();
  });
});

describe("WorkerRegistry.markStarted()", () => {
  test("marks only the attempt the registry has on that worker, and startedTaskIds() lists it", () => {
    const { r } = registry();
    r.beat(beat(1), 0);
    r.hold(1, "a", 1);
    r.hold(1, "b", 1);
    expect(r.markStarted("a", 2, 1)).toBe(false);
    expect(r.markStarted("a", 1, 9)).toBe(false);
    expect(r.markStarted("missing", 1, 1)).toBe(false);
    expect(r.markStarted("a", 1, 1)).toBe(true);
    expect(r.startedTaskIds(1)).toEqual(["a"]);
    r.release("a");
    expect(r.startedTaskIds(1)).toEqual([]);
  });
});

describe("WorkerRegistry offers (the idle hand-off)", () => {
  test("a slot on offer is not free: not counted, not planned, not placed; taking the offer frees it", () => {
    const { r } = registry();
    r.beat(beat(1, { capacity: 2 }), 0);
    r.addOffers([{ id: "o1", workerId: 1 }]);
    expect(r.freeSlots()).toBe(1);
    expect(r.slotPlan(5)).toEqual([1]);
    expect(r.place(tasks(2)).unplaced).toHaveLength(1);
    expect(r.takeOffer("o1")).toBe(1);
    expect(r.takeOffer("o1")).toBeUndefined();
    expect(r.offerIds()).toEqual([]);
    expect(r.freeSlots()).toBe(1); // the placed task holds the other slot
  });

  test("forgets a worker's offers with the worker", () => {
    const { r } = registry();
    r.beat(beat(1), 0);
    r.beat(beat(2), 0);
    r.addOffers([{ id: "a", workerId: 1 }, { id: "b", workerId: 2 }]);
    r.remove(1);
    expect(r.offerIds()).toEqual(["b"]);
  });
});
