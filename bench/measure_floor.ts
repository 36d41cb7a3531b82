// Figure 1, the floor: what PostgreSQL alone costs on this machine, through the bare `pg` driver.
import pg from "pg";

/** One floor run. */
export interface FloorRun {
  batchSize: number;
  /** Rows claimed and completed (fewer than queued when the time box ended the loop). */
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** WAL written per row claimed and completed, bytes. */
  walBytesPerRow: number;
  /** PostgreSQL's CPU time (all its processes) per row, ms; NaN when not measured. */
  postgresCpuMsPerRow: number;
}

/** Creates the floor's queue table (a minimal job queue, no triggers, one claim index). */
export async function createFloorTable(client: pg.Client): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS floor_jobs (
      id bigserial PRIMARY KEY,
      status text NOT NULL DEFAULT 'queued',
      payload jsonb,
      run_at timestamptz NOT NULL DEFAULT now(),
      locked_at timestamptz,
      completed_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS floor_jobs_claim_idx ON floor_jobs (status, run_at, id)`);
}

/**
 * Claims and completes `rows` queued rows in batches of `batchSize` from one connection, in a loop:
 * each claim is one statement (`SELECT ... FOR UPDATE SKIP LOCKED` feeding an UPDATE to 'running'),
 * each completion another (UPDATE to 'done'), each its own transaction (autocommit, so every batch
 * pays two commits, as a queue whose claims and completions are separate transactions does).
 * The rows are inserted (and the table vacuumed) before the clock starts. With `maxSeconds`, the loop
 * stops at the first batch boundary after that long (the rate is of the rows done by then): with
 * fsync on, batch 1 pays two WAL flushes per row and 20,000 rows can take minutes on a slow disk.
 */
export async function measureFloor(
  client: pg.Client,
  rows: number,
  batchSize: number,
  maxSeconds = Number.POSITIVE_INFINITY,
  /** PostgreSQL's CPU seconds so far (see sample_footprint.ts), to report its CPU per row. */
  postgresCpuSeconds?: () => number,
): Promise<FloorRun> {
  await client.query("TRUNCATE floor_jobs");
  await client.query("INSERT INTO floor_jobs (payload) SELECT NULL FROM generate_series(1, $1::int)", [rows]);
  await client.query("VACUUM ANALYZE floor_jobs");
  const claim = {
    name: "floor-claim",
    text: `WITH next AS (
             SELECT id FROM floor_jobs WHERE status = 'queued' AND run_at <= now()
              ORDER BY run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
           )
           UPDATE floor_jobs j SET status = 'running', locked_at = now() FROM next WHERE j.id = next.id
           RETURNING j.id`,
  };
  const complete = {
    name: "floor-complete",
    text: "UPDATE floor_jobs SET status = 'done', completed_at = now() WHERE id = ANY($1::bigint[]) AND status = 'running'",
  };
  let done = 0;
  const walAtStart = await walBytes(client);
  const cpuAtStart = postgresCpuSeconds?.() ?? Number.NaN;
  const started = performance.now();
  while ((performance.now() - started) / 1000 < maxSeconds) {
    const claimed = await client.query<{ id: string }>({ ...claim, values: [batchSize] });
    if (claimed.rowCount === 0) break;
    const completed = await client.query({ ...complete, values: [claimed.rows.map((r) => r.id)] });
    done += completed.rowCount ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = (postgresCpuSeconds?.() ?? Number.NaN) - cpuAtStart;
  const wal = (await walBytes(client)) - walAtStart;
  if (done !== rows && seconds < maxSeconds) throw new Error(`floor: completed ${done} rows, expected ${rows}`);
  return { batchSize, rows: done, seconds, rowsPerSecond: done / seconds, walBytesPerRow: wal / done, postgresCpuMsPerRow: (cpu * 1000) / done };
}

async function walBytes(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ wal: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal");
  return Number(rows[0]!.wal);
}
