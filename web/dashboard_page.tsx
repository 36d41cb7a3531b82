import { ActivityPanel } from "./activity_panel.tsx";
import { CreateTasksPanel } from "./create_tasks_panel.tsx";
import { GuaranteePanel } from "./guarantee_panel.tsx";
import { useLiveStats } from "./live_events.tsx";
import { NoWorkersBanner, StatsCards } from "./stats_cards.tsx";
import { TaskMonitor } from "./task_monitor.tsx";
import { ThroughputPanel } from "./throughput_panel.tsx";
import { WorkerControls } from "./worker_controls.tsx";
import { WorkersPanel } from "./workers_panel.tsx";

/** `/`: stats, task creation, worker controls, workers, throughput, the task monitor and the activity log. */
export function DashboardPage() {
  const { stats } = useLiveStats();
  return (
    <div className="space-y-4">
      <h1 className="sr-only">TaskMaster dashboard</h1>
      <section aria-label="Stats" className="space-y-3">
        <StatsCards stats={stats} />
        {stats?.noWorkers ? <NoWorkersBanner pending={stats.pending} controlsHref="#worker-controls" /> : null}
        <GuaranteePanel guarantees={stats?.guarantees ?? null} />
      </section>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="space-y-4 lg:col-span-1">
          <CreateTasksPanel />
          <WorkerControls />
        </div>
        <div className="space-y-4 lg:col-span-2">
          <ThroughputPanel />
          <WorkersPanel />
        </div>
      </div>
      <div className="grid gap-4 xl:grid-cols-3">
        <div className="min-w-0 xl:col-span-2">
          <TaskMonitor />
        </div>
        <ActivityPanel />
      </div>
    </div>
  );
}
