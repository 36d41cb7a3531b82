import { useMemo } from "react";
import { useLiveStats, useThroughputSamples } from "./live_events.tsx";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";
import { ThroughputChart } from "./throughput_chart.tsx";
import { throughputPoints } from "./throughput_series.ts";

/** Completed per second and queue depth over the last minutes (since this page opened). */
export function ThroughputPanel() {
  const samples = useThroughputSamples();
  const { stats } = useLiveStats();
  const points = useMemo(() => throughputPoints(samples), [samples]);
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
