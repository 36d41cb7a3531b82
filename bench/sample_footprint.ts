// What processes cost while a measurement runs: resident memory and CPU time from /proc (Linux), and
// connections to PostgreSQL from pg_stat_activity (each process connects with its name as
// application_name).
import { readdirSync, readFileSync } from "node:fs";
import type pg from "pg";
import { BENCH_APPLICATION_NAME } from "./bench_cluster.ts";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A process's resident memory from /proc/<pid>/status, in MB: now (VmRSS) and its lifetime peak (VmHWM). */
export function readMemory(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The pids of `parentPid`'s children (for the postmaster: backends and background processes). */
export function childPids(parentPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parentPid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds of PostgreSQL as a whole: the postmaster and all its children alive now. */
export function postgresCpuSeconds(postmasterPid: number): number {
  return [postmasterPid, ...childPids(postmasterPid)].reduce((sum, pid) => sum + readCpuSeconds(pid), 0);
}

/** A process to watch: its name is also the application_name its database connections carry. */
export interface Watched {
  name: string;
  pid: number;
}

/** What {@linkcode startFootprintSampler} saw, per process and in all. */
export interface Footprint {
  /** Per process: the highest VmRSS sampled and VmHWM at the end (the process's lifetime peak), MB;
   * the most connections to PostgreSQL it held at once; CPU seconds used while sampling. */
  processes: Record<string, { sampledPeakRssMb: number; lifetimePeakRssMb: number; maxPgConnections: number; cpuSeconds: number }>;
  /** CPU seconds PostgreSQL (all its processes) used while sampling. */
  postgresCpuSeconds: number;
  /** Most client backends in pg_stat_activity at once, the bench's own excluded (all processes together). */
  maxPgBackends: number;
  samples: number;
}

/**
 * Samples every `intervalMs` until `stop()`: memory and PostgreSQL connections of each watched process,
 * and the number of client backends; CPU time is taken at start and stop.
 */
export function startFootprintSampler(options: {
  processes: Watched[];
  postmasterPid: number;
  /** A connection for pg_stat_activity (one of the bench's own, not counted). */
  db: pg.Pool;
  database: string;
  intervalMs?: number;
}): { stop(): Promise<Footprint> } {
  const cpuAtStart = new Map(options.processes.map((p) => [p.name, readCpuSeconds(p.pid)]));
  const pgCpuAtStart = postgresCpuSeconds(options.postmasterPid);
  const peakRss = new Map<string, number>();
  const maxConnections = new Map<string, number>();
  let maxBackends = 0;
  let samples = 0;
  let stopped = false;
  const sample = async () => {
    for (const p of options.processes) {
      const memory = readMemory(p.pid);
      if (memory) peakRss.set(p.name, Math.max(peakRss.get(p.name) ?? 0, memory.rssMb));
    }
    const { rows } = await options.db.query<{ name: string; n: number }>(
      `SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND datname = $1 AND application_name <> $2 GROUP BY 1`,
      [options.database, BENCH_APPLICATION_NAME],
    );
    let total = 0;
    for (const row of rows) {
      total += row.n;
      maxConnections.set(row.name, Math.max(maxConnections.get(row.name) ?? 0, row.n));
    }
    maxBackends = Math.max(maxBackends, total);
    samples++;
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => {});
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await sample().catch(() => {});
      const processes: Footprint["processes"] = {};
      for (const p of options.processes) {
        processes[p.name] = {
          sampledPeakRssMb: peakRss.get(p.name) ?? Number.NaN,
          lifetimePeakRssMb: readMemory(p.pid)?.peakMb ?? Number.NaN,
          maxPgConnections: maxConnections.get(p.name) ?? 0,
          cpuSeconds: readCpuSeconds(p.pid) - (cpuAtStart.get(p.name) ?? 0),
        };
      }
      return {
        processes,
        postgresCpuSeconds: postgresCpuSeconds(options.postmasterPid) - pgCpuAtStart,
        maxPgBackends: maxBackends,
        samples,
      };
    },
  };
}
