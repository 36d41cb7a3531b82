import { useMemo } from "react";
import { useLiveStats, useThroughputSamples } from "./live_events.tsx";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { ThroughputChart } from "./throughput_chart.tsx";
import { historyPoints, THROUGHPUT_WINDOW_MS, throughputPoints } from "./throughput_series.ts";
import { trpc } from "./trpc.ts";

/** The server's history buckets: 5 s wide, over the chart's five minutes. */
const HISTORY = { minutes: THROUGHPUT_WINDOW_MS / 60_000, bucketSeconds: 5 } as const;

/**
 * Completed per second and queue depth over the last minutes: the server's history
 * (`stats.throughput`, fetched when the page opens or reconnects) up to the first live sample, then
 * one live sample a second from the stats feed.
 */
export function ThroughputPanel() {
  const samples = useThroughputSamples();
  const { stats } = useLiveStats();
  const history = trpc.stats.throughput.useQuery(HISTORY, { staleTime: Infinity });
  const firstLive = samples[0]?.t ?? Date.now();
  const points = useMemo(
    () => [...historyPoints(history.data ?? [], HISTORY.bucketSeconds, firstLive), ...throughputPoints(samples)],
    [history.data, samples, firstLive],
  );
  const now = samples[samples.length - 1]?.t ?? Date.now();
  return (
    <Panel
      title="Throughput"
      id="throughput"
      aside={
        <span className={`text-sm tabular-nums ${ui.muted}`}>
          {stats ? `${stats.throughput.completedLastMinute} completed in the last minute` : ""}
        </span>
      }
    >
      <ThroughputChart points={points} now={now} />
    </Panel>
  );
}
