// Private to tests/: what every fault scenario runs on. Real coordinator and worker processes on a
// database of the scenario's own, the execution ledger the test handlers append to
// (tests/testdata/fault_handlers.ts), a test-only status audit trigger, and a sampler of the
// database's connections. The checks themselves live in _fault_checks.ts.
import { randomInt } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { eventually, type RunningProcess, startProcess } from "./_process.ts";

/**
 * Liveness settings every process of the suite shares: heartbeats every 500 ms, dead after 4 misses
 * (2 s). Not 3: a worker sends its next heartbeat 500 ms after the previous one ended, and waits up
 * to 1 s for an answer, so one heartbeat answered in 1 s or more leaves a 1.5 s gap, exactly the
 * 3-miss threshold, and a live worker is declared dead (a system bug with its own failing test in
 * faults_test.ts, "system bugs ..."). With 4 misses the scenarios test what they are about.
 */
export const LIVENESS = { HEARTBEAT_INTERVAL_MS: "500", HEARTBEAT_MISSES: "4" } as const;

/** Lease, sweep and retry settings of the suite's coordinators. */
export const COORDINATOR_SETTINGS = {
  ...LIVENESS,
  LEASE_MS: "3000",
  LEASE_SWEEP_INTERVAL_MS: "400",
  RETRY_BASE_MS: "50",
  RETRY_MAX_MS: "500",
  SAFETY_POLL_MS: "1000",
} as const;

/** DB_POOL_SIZE of every coordinator the suite starts (its connection bound is this + 1 LISTEN). */
export const COORDINATOR_POOL_SIZE = 6;

/** Connections the test itself may hold: its query pool plus the sampler's one. */
const TEST_POOL_SIZE = 2;
const TEST_OWN_CONNECTIONS = TEST_POOL_SIZE + 1;

/** The fault handlers' module, as a worker's HANDLER_MODULES names it (relative to the repository). */
export const FAULT_HANDLERS_MODULE = "tests/testdata/fault_handlers.ts";

const TERMINAL = ["COMPLETED", "FAILED", "DEAD", "CANCELLED"];

/** A process of the scenario and the database connections it may open at most. */
export interface ClusterProcess {
  proc: RunningProcess;
  kind: "coordinator" | "worker";
  /** DB_POOL_SIZE + 1 LISTEN connection for a coordinator; 0 for a worker (it never touches the database). */
  connectionLimit: number;
  startedAt: number;
  /** performance.now() when it exited, once it has. */
  exitedAt?: number;
}

/** One sample of `pg_stat_activity` and the bound that held at that instant. */
export interface ConnectionSample {
  at: number;
  count: number;
  limit: number;
}

/**
 * Every 200 ms counts the client connections to the scenario's database on a connection of its own
 * (reconnecting by itself when PostgreSQL restarts) and notes the bound at that instant.
 */
class ConnectionSampler {
  readonly samples: ConnectionSample[] = [];
  failedSamples = 0;
  #client: pg.Client | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #url: string;
  #limitNow: () => number;

  constructor(url: string, limitNow: () => number) {
    this.#url = url;
    this.#limitNow = limitNow;
  }

  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      try {
        if (!this.#client) {
          const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 2000 });
          client.on("error", () => {
            if (this.#client === client) this.#client = undefined;
          });
          await client.connect();
          this.#client = client;
        }
        // Autovacuum workers also carry the database's name: only client backends are connections
        // a process opened.
        const result = await this.#client.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
        );
        this.samples.push({ at: performance.now(), count: Number(result.rows[0]?.n ?? 0), limit: this.#limitNow() });
      } catch {
        this.failedSamples++;
        const client = this.#client;
        this.#client = undefined;
        await client?.end().catch(() => {});
      }
      if (!this.#stopped) this.#timer = setTimeout(() => void tick(), 200);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#client?.end().catch(() => {});
  }
}

/** Options of {@linkcode FaultCluster.insertTasks}. */
export interface InsertOptions {
  /** Default "ledger". */
  command?: string;
  /** The ledger handler's work time, ms (payload.ms). Default 0. */
  ms?: number;
  /** Default: the column's default (3). */
  maxAttempts?: number;
}

/**
 * A fault scenario's world: its database (with the audit trigger installed), its ledger file, the
 * processes it started, and the connection sampler. Create with {@linkcode FaultCluster.open}.
 */
export class FaultCluster {
  readonly url: string;
  readonly name: string;
  /** The test's own queries (at most {@linkcode TEST_POOL_SIZE} connections). */
  readonly db: pg.Pool;
  readonly dir: string;
  readonly ledgerPath: string;
  readonly processes: ClusterProcess[] = [];
  readonly sampler: ConnectionSampler;
  /**
   * Connections of processes still starting: a coordinator connects before it says it is ready (and
   * so before it is tracked), and a sample taken meanwhile must allow for them.
   */
  #startingConnections = 0;
  readonly startedAt = performance.now();

  private constructor(url: string, name: string) {
    this.url = url;
    this.name = name;
    this.db = new pg.Pool({ connectionString: url, max: TEST_POOL_SIZE, connectionTimeoutMillis: 5000 });
    // A PostgreSQL restart breaks idle pooled connections: the pool drops them and opens new ones.
    this.db.on("error", () => {});
    this.dir = mkdtempSync(join(tmpdir(), `taskmaster-fault-${name}-`));
    this.ledgerPath = join(this.dir, "ledger.log");
    this.sampler = new ConnectionSampler(url, () => this.connectionLimitNow());
  }

  /** Opens a scenario on the (migrated, empty) database at `url`: installs the audit trigger and starts sampling. */
  static async open(url: string, name: string): Promise<FaultCluster> {
    const cluster = new FaultCluster(url, name);
    await installStatusAudit(cluster.db);
    cluster.sampler.start();
    return cluster;
  }

  /**
   * The connection bound at this instant: the test's own, plus every database process alive now or
   * exited within the last 2 s (PostgreSQL notices a killed client's sockets closing within that).
   */
  connectionLimitNow(): number {
    const now = performance.now();
    return this.processes
      .filter((p) => p.exitedAt === undefined || now - p.exitedAt < 2000)
      .reduce((sum, p) => sum + p.connectionLimit, TEST_OWN_CONNECTIONS + this.#startingConnections);
  }

  #track(proc: RunningProcess, kind: ClusterProcess["kind"], connectionLimit: number): ClusterProcess {
    const entry: ClusterProcess = { proc, kind, connectionLimit, startedAt: performance.now() };
    this.processes.push(entry);
    void proc.exited.then(() => {
      entry.exitedAt = performance.now();
    });
    return entry;
  }

  /**
   * Starts a coordinator on this database with the suite's short settings. `port` 0 picks a free one;
   * `env` adds or overrides (e.g. FAULT_POINT).
   */
  async startCoordinator(name: string, options: { port?: number; env?: Record<string, string> } = {}): Promise<RunningProcess> {
    this.#startingConnections += COORDINATOR_POOL_SIZE + 1;
    const proc = await startProcess(
      "coordinator",
      {
        DATABASE_URL: this.url,
        COORDINATOR_PORT: String(options.port ?? 0),
        COORDINATOR_ID: `${this.name}-${name}`,
        DB_POOL_SIZE: String(COORDINATOR_POOL_SIZE),
        LOG_LEVEL: "info",
        ...COORDINATOR_SETTINGS,
        ...options.env,
      },
      { name },
    ).finally(() => {
      this.#startingConnections -= COORDINATOR_POOL_SIZE + 1;
    });
    this.#track(proc, "coordinator", COORDINATOR_POOL_SIZE + 1);
    return proc;
  }

  /** Starts a worker serving the fault handlers (ledger, crash, ...), connected to `coordinator` (host:port). */
  async startWorker(
    name: string,
    coordinator: string,
    options: { poolSize?: number; env?: Record<string, string> } = {},
  ): Promise<RunningProcess> {
    const proc = await startProcess(
      "worker",
      {
        COORDINATOR: coordinator,
        WORKER_ADDRESS: "127.0.0.1",
        WORKER_ID: String(randomInt(1, 2 ** 32)),
        POOL_SIZE: String(options.poolSize ?? 5),
        HANDLER_MODULES: FAULT_HANDLERS_MODULE,
        LEDGER_PATH: this.ledgerPath,
        LOG_LEVEL: "info",
        DRAIN_TIMEOUT_MS: "5000",
        ...LIVENESS,
        ...options.env,
      },
      { name },
    );
    this.#track(proc, "worker", 0);
    return proc;
  }

  /** Every process of the scenario still running. */
  running(kind?: ClusterProcess["kind"]): ClusterProcess[] {
    return this.processes.filter((p) => p.exitedAt === undefined && (kind === undefined || p.kind === kind));
  }

  /** Inserts `count` due tasks in one statement (each is committed, so accepted); returns their ids. */
  async insertTasks(count: number, options: InsertOptions = {}): Promise<string[]> {
    const payload = JSON.stringify({ ms: options.ms ?? 0 });
    const result = await this.db.query<{ id: string }>(
      `INSERT INTO tasks (id, command, payload, scheduled_at, max_attempts)
       SELECT gen_random_uuid(), $1, $2::jsonb, now(), $3 FROM generate_series(1, $4)
       RETURNING id::text AS id`,
      [options.command ?? "ledger", payload, options.maxAttempts ?? 3, count],
    );
    return result.rows.map((r) => r.id);
  }

  /** Counts of tasks by status. */
  async statusCounts(): Promise<Record<string, number>> {
    const result = await this.db.query<{ status: string; n: string }>(
      "SELECT status::text AS status, count(*) AS n FROM tasks GROUP BY status",
    );
    return Object.fromEntries(result.rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Tasks with `status` (and worker, when given), as ids. */
  async taskIds(where: { status?: string[]; workerId?: number; coordinatorId?: string }): Promise<string[]> {
    const result = await this.db.query<{ id: string }>(
      `SELECT id::text AS id FROM tasks
        WHERE ($1::text[] IS NULL OR status::text = ANY($1::text[]))
          AND ($2::bigint IS NULL OR worker_id = $2::bigint)
          AND ($3::text IS NULL OR coordinator_id = $3::text)`,
      [where.status ?? null, where.workerId ?? null, where.coordinatorId ?? null],
    );
    return result.rows.map((r) => r.id);
  }

  /** How many of `ids` have a status in `statuses`. */
  async countIn(ids: string[], statuses: string[]): Promise<number> {
    const result = await this.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM tasks WHERE id = ANY($1::uuid[]) AND status::text = ANY($2::text[])",
      [ids, statuses],
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  /** Waits until every one of `ids` (default: every task) is in `statuses` (default: a terminal one); resolves with the time. */
  async waitFor(
    what: string,
    options: { ids?: string[]; statuses?: string[]; timeoutMs?: number } = {},
  ): Promise<number> {
    const statuses = options.statuses ?? TERMINAL;
    const timeoutMs = options.timeoutMs ?? 60_000;
    await eventually(
      async () => {
        if (options.ids) return (await this.countIn(options.ids, statuses)) === options.ids.length;
        const counts = await this.statusCounts();
        return Object.entries(counts).every(([status, n]) => n === 0 || statuses.includes(status));
      },
      { timeoutMs, intervalMs: 100, what: `${this.name}: ${what}` },
    ).catch(async (error: unknown) => {
      const counts = await this.statusCounts().catch(() => ({}));
      throw new Error(`${error instanceof Error ? error.message : String(error)}; tasks by status after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    });
    return performance.now();
  }

  /** The value of a fault counter (`stale_reports`, `requeued_worker_lost`, ...), 0 when absent. */
  async counter(name: string): Promise<number> {
    const result = await this.db.query<{ value: string }>("SELECT value::text AS value FROM counters WHERE name = $1", [name]);
    return Number(result.rows[0]?.value ?? 0);
  }

  /** Every fault counter. */
  async counters(): Promise<Record<string, number>> {
    const result = await this.db.query<{ name: string; value: string }>("SELECT name, value::text AS value FROM counters ORDER BY name");
    return Object.fromEntries(result.rows.map((r) => [r.name, Number(r.value)]));
  }

  /** Worker ids the database has ONLINE (or DRAINING) rows for. */
  async onlineWorkers(): Promise<number[]> {
    const result = await this.db.query<{ id: string }>("SELECT id::text AS id FROM workers WHERE status <> 'OFFLINE'");
    return result.rows.map((r) => Number(r.id));
  }

  /** Stops sampling, kills what still runs (SIGKILL), closes the test's pool and removes the ledger's folder. */
  async close(): Promise<void> {
    await this.sampler.stop();
    await Promise.all(this.running().map((p) => p.proc.stop("SIGKILL")));
    // FAULT_LOGS_DIR=<dir>: keep every process's log lines and the ledger, for a post-mortem.
    const keep = process.env["FAULT_LOGS_DIR"];
    if (keep) {
      const dir = join(keep, this.name);
      mkdirSync(dir, { recursive: true });
      for (const p of this.processes) writeFileSync(join(dir, `${p.proc.name}-${p.proc.pid}.log`), `${p.proc.lines.join("\n")}\n`);
      if (existsSync(this.ledgerPath)) copyFileSync(this.ledgerPath, join(dir, "ledger.log"));
    }
    await this.db.end().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Installs the test-only audit of status changes: a table `fault_status_audit` and an AFTER UPDATE
 * OF status trigger on `tasks` writing one row per change (old and new status, attempt and worker).
 * Its `id` orders the changes of one task as they were committed (each takes the task's row lock).
 * A task the idle hand-off takes is inserted PICKED at attempt 1: its INSERT is recorded as the
 * claim it is, SCHEDULED at attempt 0 -> PICKED, so that every task's trail starts at SCHEDULED(0).
 */
export async function installStatusAudit(db: pg.Pool): Promise<void> {
  await db.query(`
    CREATE TABLE fault_status_audit (
      id bigserial PRIMARY KEY,
      task_id uuid NOT NULL,
      old_status text NOT NULL,
      new_status text NOT NULL,
      old_attempt int NOT NULL,
      new_attempt int NOT NULL,
      old_worker_id bigint,
      new_worker_id bigint,
      at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE FUNCTION fault_audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO fault_status_audit (task_id, old_status, new_status, old_attempt, new_attempt, old_worker_id, new_worker_id)
        VALUES (NEW.id, 'SCHEDULED', NEW.status::text, 0, NEW.attempt, NULL, NEW.worker_id);
      ELSE
        INSERT INTO fault_status_audit (task_id, old_status, new_status, old_attempt, new_attempt, old_worker_id, new_worker_id)
        VALUES (NEW.id, OLD.status::text, NEW.status::text, OLD.attempt, NEW.attempt, OLD.worker_id, NEW.worker_id);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER fault_status_audit AFTER UPDATE OF status ON tasks
      FOR EACH ROW EXECUTE FUNCTION fault_audit_status();
    CREATE TRIGGER fault_status_audit_insert AFTER INSERT ON tasks
      FOR EACH ROW WHEN (NEW.status <> 'SCHEDULED') EXECUTE FUNCTION fault_audit_status();
  `);
}
