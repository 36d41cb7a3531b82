import { describe, expect, test } from "vitest";
import { fakeWorker, renderHtml } from "./testing.ts";
import { WorkerCards } from "./worker_cards.tsx";

describe("<WorkerCards>", () => {
  const clock = { receivedAt: 1_000_000, now: 1_001_500 };

  test("one card per worker: address, state, slots, completed and failed, heartbeat age, a named kill button", () => {
    const html = renderHtml(
      <WorkerCards
        workers={[fakeWorker({ inFlight: 2, tasksCompleted: 1234, tasksFailed: 1, currentTaskIds: ["a", "b"], lastHeartbeatAgeMs: 1000 })]}
        {...clock}
        onKill={() => {}}
      />,
    );
    expect(html).toContain('aria-label="Worker-7, busy, 2 of 5 slots in use"');
    expect(html).toContain("localhost:5007");
    expect(html).toContain(">2 / 5<");
    expect(html).toContain('aria-valuenow="2"');
    expect(html).toContain(">1,234<");
    // Its age when it arrived plus the time since, by the browser's clock.
    expect(html).toContain("2.5 s ago");
    expect(html).toContain('aria-label="Kill Worker-7"');
  });

  test("says which coordinator each worker is registered with (several may share one database)", () => {
    const html = renderHtml(<WorkerCards workers={[fakeWorker({ coordinatorId: "coord-b" })]} {...clock} />);
    expect(html).toContain("via coord-b");
  });

  test("no kill button for a worker this server did not start; idle and draining states", () => {
    const html = renderHtml(
      <WorkerCards
        workers={[fakeWorker({ managed: false }), fakeWorker({ id: 8, name: "Worker-8", status: "DRAINING" })]}
        {...clock}
        onKill={() => {}}
      />,
    );
    expect(html).not.toContain("Kill Worker-7");
    expect(html).toContain("Worker-7, idle");
    expect(html).toContain("Worker-8, draining");
  });

  test("shows workers starting, and says so when none is online", () => {
    expect(renderHtml(<WorkerCards workers={[]} starting={[{ id: 9, name: "Worker-9" }]} {...clock} />)).toContain(
      'aria-label="Worker-9, starting"',
    );
    expect(renderHtml(<WorkerCards workers={[]} {...clock} />)).toContain("No worker is online.");
  });
});
