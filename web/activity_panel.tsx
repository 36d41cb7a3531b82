import { ACTIVITY_LINES_KEPT } from "./activity_lines.ts";
import { ActivityList } from "./activity_list.tsx";
import { useActivity } from "./live_events.tsx";
import { Panel } from "./panel.tsx";
import { ui } from "./styles.ts";

/** The activity log: lifecycle events as they happen, newest first, the last 250. */
export function ActivityPanel() {
  const lines = useActivity();
  return (
    <Panel
      title="Activity log"
      id="activity"
      aside={<span className={`text-sm ${ui.muted}`}>{lines.length < ACTIVITY_LINES_KEPT ? `${lines.length} events` : `last ${ACTIVITY_LINES_KEPT} events`}</span>}
    >
      <div className="relative max-h-[38rem] overflow-y-auto pr-1" tabIndex={0} role="log" aria-live="off" aria-label="Activity log entries">
        <ActivityList lines={lines} />
      </div>
    </Panel>
  );
}
