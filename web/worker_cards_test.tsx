import { describe, expect, test } from "vitest";
import { fakeWorker, renderHtml } from "./testing.ts";
import { WorkerCards } from "./worker_cards.tsx";

describe("<WorkerCards>", () => {
  const asOf = Date.parse("2030-01-01T00:00:02.500Z");

  test("one card per worker: address, state, slots, completed and failed, heartbeat age, a named kill button", () => {
    const html = renderHtml(
      <WorkerCards
        workers={[fakeWorker({ inFlight: 2, tasksCompleted: 1234, tasksFailed: 1, currentTaskIds: ["a", "b"] })]}
        asOf={asOf}
        onKill={() => {}}
      />,
    );
    expect(html).toContain('aria-label="Worker-7, busy, 2 of 5 slots in use"');
    expect(html).toContain("localhost:5007");
    expect(html).toContain(">2 / 5<");
    expect(html).toContain('aria-valuenow="2"');
    expect(html).toContain(">1,234<");
    expect(html).toContain("2.5 s ago");
    expect(html).toContain('aria-label="Kill Worker-7"');
  });

  test("no kill button for a worker this server did not start; idle and draining states", () => {
    const html = renderHtml(
      <WorkerCards
        workers={[fakeWorker({ managed: false }), fakeWorker({ id: 8, name: "Worker-8", status: "DRAINING" })]}
        asOf={asOf}
        onKill={() => {}}
      />,
    );
    expect(html).not.toContain("Kill Worker-7");
    expect(html).toContain("Worker-7, idle");
    expect(html).toContain("Worker-8, draining");
  });

  test("shows workers starting, and says so when none is online", () => {
    expect(renderHtml(<WorkerCards workers={[]} starting={[{ id: 9, name: "Worker-9" }]} asOf={asOf} />)).toContain(
      'aria-label="Worker-9, starting"',
    );
    expect(renderHtml(<WorkerCards workers={[]} asOf={asOf} />)).toContain("No worker is online.");
  });
});
