import * as grpc from "@grpc/grpc-js";
import { CHANNELS, listenForNotifications, type SqlClient } from "../prisma/mod.ts";
import {
  type CoordinatorServiceHandlers,
  createStreamedCaller,
  loadGrpcApi,
  type ReportBatchRequest__Output,
  type ReportBatchResponse,
  serveStreamedCalls,
  type TaskBatch,
  type TaskBatchResponse__Output,
  type UnaryMethod,
  type WorkerServiceClient,
} from "../proto/mod.ts";
import type { Logger } from "../shared/mod.ts";
import {
  type AssignedTask,
  assignClaimedTasks,
  claimAndAssignDueTasks,
  type ClaimedTask,
  claimDueTasks,
  releaseClaimedTasks,
} from "./claim_due_tasks.ts";
import { z } from "zod";
import {
  completeTasks,
  failTask,
  incrementCounter,
  markTasksStarted,
  recordProgress,
  type ReportResult,
} from "./record_task_report.ts";
import { describeIssues, heartbeatSchema, parseHolding, parseStatusReport, progressReportSchema, type StatusReport } from "./report_schema.ts";
import {
  cancelledAmong,
  heldAttempts,
  type LostTask,
  requeueUndeliveredAttempt,
  requeueUnheldAttempts,
  requeueWorkerTasks,
  sweepExpiredLeases,
} from "./requeue_lost_tasks.ts";
import { retryDelayMs } from "./retry_delay.ts";
import { type HandOff, offerSlots, readHandedTasks, renewOffers, withdrawOffers } from "./task_offers.ts";
import { type BeatResult, type RegisteredWorker, WorkerRegistry } from "./worker_registry.ts";
import { markSilentWorkersOffline, markWorkerOffline, msUntilNextDueTask, recordHeartbeat } from "./worker_rows.ts";

/**
 * Most tasks one claim takes (CLAIM_BATCH_SIZE). A claim rewrites each task row it takes, ~30 µs a
 * row with 1,000,000 finished tasks in the table: 100 keeps every claim statement (and the row locks
 * it holds) under 5 ms there (3.0 ms measured; 500 took 15 ms). More free slots than that are filled
 * by the claims that follow at once; with 5 workers of 50 slots end-to-end throughput was the same
 * within the noise (3,193 against 3,258 tasks/s with 500, medians of 3).
 */
export const DEFAULT_CLAIM_BATCH_SIZE = 100;

/** Options for {@linkcode startCoordinator}. Durations in milliseconds. */
export interface CoordinatorOptions {
  /** Raw SQL on the database (its pool is the caller's). */
  db: SqlClient;
  /** For the LISTEN connection (task and worker notifications). */
  databaseUrl: string;
  /** gRPC port; 0 picks a free one. */
  port: number;
  /** Host to bind. Default "0.0.0.0". */
  host?: string;
  coordinatorId: string;
  log: Logger;
  /** Workers' heartbeat interval. Default 5000. */
  heartbeatIntervalMs?: number;
  /** A worker silent for this many intervals is dead. Default 3. */
  heartbeatMisses?: number;
  /** Lease on a claimed task, renewed by its worker's heartbeats. Default 30000. */
  leaseMs?: number;
  /** Dispatch check even without notifications. Default 5000. */
  safetyPollMs?: number;
  /** Expired-lease sweep interval. Default 2000. */
  sweepIntervalMs?: number;
  /** A worker's SubmitTask must answer within this. Default 5000. */
  dispatchTimeoutMs?: number;
  /** Retry backoff for failed attempts. Defaults 1000 and 60000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Most tasks claimed in one statement. Default {@linkcode DEFAULT_CLAIM_BATCH_SIZE}. */
  claimBatchSize?: number;
  /**
   * Free slots offered for the idle hand-off while the queue is empty (see task_offers.ts): a task
   * scheduled then is PICKED for one of them in its own INSERT's transaction and dispatched without a
   * claim. 0 turns the hand-off off. Default 8.
   */
  handoffSlots?: number;
  /**
   * Test-only fault injection: called at named instants of the dispatch path ("after_claim": the
   * claim is committed, nothing assigned or sent; "after_dispatch": a worker acknowledged a task;
   * "after_handoff": tasks were handed to this coordinator's offers, bound, not sent).
   * The fault suite's coordinator kills itself there (see main.ts FAULT_POINT).
   */
  onFaultPoint?: (point: "after_claim" | "after_dispatch" | "after_handoff") => void;
}

/** A running coordinator. */
export interface Coordinator {
  port: number;
  coordinatorId: string;
  /** Stops serving gRPC and all timers; the database client is the caller's. */
  close(): Promise<void>;
}

type Client = InstanceType<ReturnType<typeof loadGrpcApi>["WorkerService"]>;

/**
 * Starts a coordinator: the gRPC CoordinatorService (heartbeats, status reports, SubmitTask), the
 * worker registry mirrored to the `workers` table, and the dispatch loop: woken by NOTIFY when
 * tasks become due, by a timer for the next future task, and when a slot frees; it claims with
 * SKIP LOCKED no more tasks than its workers have free slots and hands them out round-robin.
 */
export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const { db, log, coordinatorId } = options;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  const deadAfterMs = heartbeatIntervalMs * (options.heartbeatMisses ?? 3);
  const leaseMs = options.leaseMs ?? 30_000;
  const safetyPollMs = options.safetyPollMs ?? 5000;
  const sweepIntervalMs = options.sweepIntervalMs ?? 2000;
  const dispatchTimeoutMs = options.dispatchTimeoutMs ?? 5000;
  const retry = { baseMs: options.retryBaseMs ?? 1000, maxMs: options.retryMaxMs ?? 60_000 };
  const claimBatchSize = options.claimBatchSize ?? DEFAULT_CLAIM_BATCH_SIZE;
  const handoffSlots = options.handoffSlots ?? 8;
  // An offer lapses unless renewed (the sweep renews them every third of this): one left by a
  // coordinator that died is not used after that (nor once its workers have moved on).
  const offerTtlMs = Math.max(3 * heartbeatIntervalMs, 10_000);
  const api = loadGrpcApi();
  const now = () => performance.now();

  // SubmitTasks goes over one stream per worker (SubmitTaskStream; unary SubmitTasks for a worker
  // without it), made with the worker's client and closed with it.
  const submitters = new WeakMap<Client, UnaryMethod<TaskBatch, TaskBatchResponse__Output> & { close(): void }>();
  const submitterOf = (client: Client) => {
    let submit = submitters.get(client);
    if (!submit) {
      submit = createStreamedCaller<TaskBatch, TaskBatchResponse__Output>({
        open: () => client.SubmitTaskStream(),
        wrap: (callId, batch) => ({ call_id: callId, batch }),
        unary: (batch, callOptions, callback) => client.SubmitTasks(batch, callOptions, callback),
      });
      submitters.set(client, submit);
    }
    return submit;
  };
  const registry = new WorkerRegistry<Client>(
    (address) => new api.WorkerService(address, grpc.credentials.createInsecure()),
    (client) => {
      submitters.get(client)?.close();
      client.close();
    },
  );

  // ---- dispatch loop -------------------------------------------------------------------------
  let closed = false;
  let dispatching = false;
  let wakeAgain = false;
  let dueTimer: ReturnType<typeof setTimeout> | undefined;

  // Whether due tasks may be waiting: false once a claim came back short of its limit with nothing
  // excluded (the queue was drained then; a task that becomes due after that wakes us by NOTIFY or
  // by the due timer). A freed slot or a heartbeat only looks for work while this is true, so an
  // idle system does not run an empty claim after every task.
  let mayHaveDue = true;

  /** Runs the dispatch loop (again, if it is running). `forSlots`: only capacity changed. */
  const wake = (forSlots = false) => {
    if (closed) return;
    if (forSlots && !mayHaveDue) {
      // Nothing is waiting: the freed slot is offered for the next task instead (the hand-off).
      void topUpOffers();
      return;
    }
    if (dispatching) {
      wakeAgain = true;
      return;
    }
    dispatching = true;
    void dispatchLoop().finally(() => {
      dispatching = false;
    });
  };

  const armDueTimer = async () => {
    const ms = await msUntilNextDueTask(db);
    clearTimeout(dueTimer);
    if (ms !== null && !closed) dueTimer = setTimeout(() => wake(), Math.min(ms + 5, safetyPollMs));
  };

  /**
   * Claims up to `limit` due tasks, binds each to a worker and sends them; returns how many were
   * claimed. When every worker can run every task, one statement claims and binds; otherwise the
   * claim comes first and placement looks at each task's command.
   */
  const claimAndBind = async (limit: number): Promise<number> => {
    const exclude = registry.blockedCommands();
    const plan = registry.slotPlan(limit);
    let assigned: AssignedTask[];
    let claimed: number;
    if (plan) {
      assigned = await claimAndAssignDueTasks(db, { coordinatorId, workers: plan, leaseMs, excludeCommands: exclude });
      claimed = assigned.length;
      registry.planUsed(plan, claimed);
      mayHaveDue = claimed === limit || exclude.length > 0;
      if (claimed > 0) options.onFaultPoint?.("after_claim");
      for (const task of assigned) registry.hold(task.workerId, task.id, task.attempt);
    } else {
      mayHaveDue = true; // placement depends on commands here: keep looking when slots free
      const tasks = await claimDueTasks(db, { coordinatorId, limit, leaseMs, excludeCommands: exclude });
      claimed = tasks.length;
      if (claimed === 0) return 0;
      options.onFaultPoint?.("after_claim");
      const { placed, unplaced } = registry.place(tasks);
      await releaseClaimedTasks(db, coordinatorId, unplaced);
      assigned = placed.map(({ task, worker }) => ({ ...task, workerId: worker.id }));
      await assignClaimedTasks(db, coordinatorId, assigned.map((t) => ({ taskId: t.id, attempt: t.attempt, workerId: t.workerId })));
    }
    dispatchAssigned(assigned);
    return claimed;
  };

  /**
   * Sends attempts bound to workers (and held in the registry), one call per worker; one whose
   * worker is gone is requeued. A first attempt counts as started from its dispatch: a worker starts
   * it on arrival, without waiting for its STARTED's answer (a retry waits: its STARTED is written
   * first). So a worker that dies holding it is charged for it (a poison task ends DEAD after
   * max_attempts crashes).
   */
  const dispatchAssigned = (assigned: AssignedTask[]) => {
    for (const task of assigned) if (task.attempt === 1) registry.markStarted(task.id, 1, task.workerId);
    const byWorker = new Map<number, ClaimedTask[]>();
    for (const task of assigned) {
      const tasks = byWorker.get(task.workerId);
      if (tasks) tasks.push(task);
      else byWorker.set(task.workerId, [task]);
    }
    for (const [workerId, tasks] of byWorker) {
      const worker = registry.get(workerId);
      if (worker) sendTasks(worker, tasks);
      else for (const task of tasks) void undelivered(workerId, task.id, task.attempt, `worker ${workerId} left before its dispatch`, null);
    }
  };

  const dispatchLoop = async () => {
    do {
      wakeAgain = false;
      try {
        let free = registry.freeSlots();
        if (free === 0 && registry.offerIds().length > 0) {
          // Every free slot is on offer, and offers only take new tasks: a retry, a requeued task
          // or one whose time came is claimed, so take them back first (re-offered when idle again).
          await takeBackOffers();
          free = registry.freeSlots();
        }
        if (free === 0) continue;
        const limit = Math.min(free, claimBatchSize);
        if ((await claimAndBind(limit)) === limit) {
          wakeAgain = true;
          // A backlog: slots on offer are better used by claims (highest priority first).
          if (registry.offerIds().length > 0) await takeBackOffers();
        } else {
          // The queue of due tasks is empty for now: wake for the next future one (after sending,
          // so an idle system's dispatch does not wait on this query), and offer the free slots.
          await armDueTimer();
          await topUpOffers();
        }
      } catch (error) {
        log.error("dispatch failed; will retry", { error: String(error) });
        await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
      }
    } while (wakeAgain && !closed);
  };

  // ---- idle hand-off ---------------------------------------------------------------------------
  const HAND_OFF_SETTLE_MS = 5;
  let offering: Promise<void> | undefined;
  let placeholderSeq = 0;
  let lastRenewAt = 0;

  /** Offers free slots, up to `handoffSlots` on offer, while nothing is waiting (one at a time). */
  const topUpOffers = (): Promise<void> =>
    (offering ??= (async () => {
      try {
        if (handoffSlots === 0 || closed || mayHaveDue) return;
        const want = Math.min(handoffSlots - registry.offerIds().length, registry.freeSlots());
        if (want <= 0) return;
        const plan = registry.slotPlan(want);
        if (!plan || plan.length === 0) return; // workers differ in handlers: the claim must see each command
        // Counted as taken from now, so that a claim meanwhile does not place tasks on them too.
        const placeholders = plan.map((workerId) => ({ id: `pending-${++placeholderSeq}`, workerId }));
        registry.addOffers(placeholders);
        try {
          registry.addOffers(await offerSlots(db, coordinatorId, plan, leaseMs, offerTtlMs));
          registry.planUsed(plan, plan.length);
          lastRenewAt = now();
        } finally {
          for (const p of placeholders) registry.takeOffer(p.id);
        }
      } catch (error) {
        log.warn("could not offer idle slots", { error: String(error) });
      }
    })().finally(() => {
      offering = undefined;
    }));

  /** Withdraws this coordinator's offers (those of `workerId` only, when given). */
  const takeBackOffers = async (workerId?: number) => {
    try {
      for (const id of await withdrawOffers(db, coordinatorId, workerId)) registry.takeOffer(id);
    } catch (error) {
      log.warn("could not withdraw offered slots; they lapse by themselves", { error: String(error) });
    }
  };

  /** Renews the offers before they lapse, and forgets those gone (used, or lapsed). */
  const renewOfferedSlots = async () => {
    const known = registry.offerIds().filter((id) => !id.startsWith("pending-"));
    if (known.length === 0 || now() - lastRenewAt < offerTtlMs / 3) return;
    lastRenewAt = now();
    const standing = new Set(await renewOffers(db, coordinatorId, offerTtlMs));
    // One used meanwhile has its notification on the way (or lost: its task, bound and not
    // dispatched, is taken back by the unheld-attempt check); either way its slot is not on offer.
    for (const id of known) if (!standing.has(id)) registry.takeOffer(id);
  };

  /** Dispatches the tasks a `taskmaster_handoff` notification says were handed to our offers. */
  const handOff = async (payload: string) => {
    let message: HandOff;
    try {
      message = JSON.parse(payload) as HandOff;
    } catch {
      return;
    }
    if (message.coordinator !== coordinatorId || !Array.isArray(message.tasks)) return;
    let tasks = message.tasks;
    for (const t of tasks) registry.takeOffer(t.offer);
    const unread = tasks.filter((t) => t.command === undefined);
    if (unread.length > 0) {
      try {
        tasks = [...tasks.filter((t) => t.command !== undefined), ...(await readHandedTasks(db, coordinatorId, unread))];
      } catch (error) {
        // Bound and not dispatched: the unheld-attempt check takes them back.
        log.warn("could not read handed-off tasks", { error: String(error) });
        tasks = tasks.filter((t) => t.command !== undefined);
      }
    }
    const assigned: AssignedTask[] = tasks.map((t) => ({
      id: t.id,
      command: t.command!,
      payloadJson: t.payload ?? null,
      attempt: t.attempt,
      timeoutMs: t.timeout_ms ?? null,
      workerId: t.worker,
    }));
    for (const task of assigned) registry.hold(task.workerId, task.id, task.attempt);
    if (assigned.length > 0) options.onFaultPoint?.("after_handoff");
    dispatchAssigned(assigned);
    afterHandOff(() => void topUpOffers());
  };

  /**
   * Runs `fn` a few milliseconds from now: work that a hand-off makes due (a claim, new offers) waits
   * until its dispatch has reached the worker, instead of taking the CPU from it (2 cores here: an
   * empty claim run at once delayed the handler's start by ~1.5 ms).
   */
  const afterHandOff = (fn: () => void) => {
    const timer = setTimeout(fn, HAND_OFF_SETTLE_MS);
    timer.unref();
  };

  const toRequest = (task: ClaimedTask) => ({
    task_id: task.id,
    data: task.command,
    attempt: task.attempt,
    payload_json: task.payloadJson ?? "",
    timeout_ms: task.timeoutMs ?? 0,
    // Counted as started from its dispatch (registry.markStarted in claimAndBind): it may run at once.
    start_on_arrival: task.attempt === 1,
  });

  /** Hands tasks to a worker: one SubmitTasks call when it takes batches, else one SubmitTask each (a seed worker). */
  const sendTasks = (worker: RegisteredWorker<Client>, tasks: ClaimedTask[]) => {
    log.debug("dispatching", { worker_id: worker.id, tasks: tasks.length });
    const deadline = Date.now() + dispatchTimeoutMs;
    const failed = (task: ClaimedTask, reason: string, error: grpc.ServiceError | null) =>
      void undelivered(worker.id, task.id, task.attempt, reason, error);
    if (worker.batchDispatch) {
      submitterOf(worker.client)({ tasks: tasks.map(toRequest) }, { deadline }, (error, response) => {
        tasks.forEach((task, i) => {
          const answer = response?.results?.[i];
          if (!error && answer?.success) return;
          failed(
            task,
            error ? `dispatch to worker ${worker.id} failed: ${error.message}` : `worker ${worker.id} refused the task: ${answer?.message ?? "no answer"}`,
            error,
          );
        });
        if (!error) options.onFaultPoint?.("after_dispatch");
      });
      return;
    }
    for (const task of tasks) {
      worker.client.SubmitTask(toRequest(task), { deadline }, (error, response) => {
        if (!error && response?.success) return options.onFaultPoint?.("after_dispatch");
        failed(
          task,
          error ? `dispatch to worker ${worker.id} failed: ${error.message}` : `worker ${worker.id} refused the task: ${response?.message ?? "no answer"}`,
          error,
        );
      });
    }
  };

  /**
   * A dispatch that failed: `error` is the call's error, or null when the worker answered and
   * refused the task (or was gone before it was sent), which then certainly does not run it.
   */
  const undelivered = async (workerId: number, taskId: string, attempt: number, reason: string, error: grpc.ServiceError | null) => {
    log.warn("dispatch failed", { task_id: taskId, attempt, worker_id: workerId, reason });
    const worker = registry.get(workerId);
    if (worker && error?.code === grpc.status.UNAVAILABLE) worker.suspended = true;
    const holder = registry.holder(taskId);
    if (error && holder?.attempt === attempt && holder.started) {
      // It may have arrived and run: a first attempt starts on arrival, and a worker that reported
      // STARTED has it (the answer to the dispatch was lost, e.g. the handler killed the process
      // first). Its fate is the worker's: if the worker died, losing it counts as a started attempt
      // (see workerLost); if it lives and does not hold it, its next heartbeat's holding list says
      // so and the attempt is taken back (requeueUnheldAttempts); if it holds it, it runs on.
      return;
    }
    if (holder?.attempt === attempt) registry.release(taskId);
    try {
      await requeueUndeliveredAttempt(db, taskId, attempt, reason);
    } catch (error) {
      log.error("could not requeue an undelivered attempt; its lease will", { task_id: taskId, error: String(error) });
    }
    wake();
  };

  // ---- worker liveness -----------------------------------------------------------------------
  const logLost = (lost: LostTask[], why: string) => {
    for (const t of lost) {
      log.info(t.status === "DEAD" ? "task dead: its last attempt was lost" : "task requeued", {
        task_id: t.id,
        attempt: t.attempt,
        worker_id: t.workerId ?? undefined,
        reason: why,
      });
    }
  };

  const workerLost = async (workerId: number, why: string) => {
    const started = registry.startedTaskIds(workerId);
    registry.remove(workerId);
    log.warn("worker lost", { worker_id: workerId, reason: why });
    try {
      await markWorkerOffline(db, workerId);
      await takeBackOffers(workerId);
      logLost(await requeueWorkerTasks(db, workerId, `worker ${workerId} lost: ${why}`, started), why);
    } catch (error) {
      log.error("could not requeue a lost worker's tasks; their leases will", { worker_id: workerId, error: String(error) });
    }
    wake();
  };

  const livenessTickMs = Math.max(100, Math.min(1000, heartbeatIntervalMs / 2));
  let lastLivenessTick = now();
  const livenessTimer = setInterval(() => {
    const tick = now();
    const gap = tick - lastLivenessTick;
    lastLivenessTick = tick;
    if (gap > livenessTickMs + deadAfterMs / 2) {
      // This process itself stalled (a pause, a starved CPU): the workers' heartbeats are waiting in
      // its sockets, unread. Silence measured across our own stall is not theirs: start them afresh.
      log.warn("coordinator stalled: giving every worker a fresh heartbeat window", { stalled_ms: Math.round(gap) });
      registry.touchAll(tick);
      return;
    }
    for (const id of registry.silentWorkers(tick, deadAfterMs)) {
      void workerLost(id, `no heartbeat for ${deadAfterMs} ms`);
    }
  }, livenessTickMs);

  let lastSweepTick = now();
  let sweepPausedUntil = 0;
  const sweepTimer = setInterval(async () => {
    const tick = now();
    const gap = tick - lastSweepTick;
    lastSweepTick = tick;
    if (gap > sweepIntervalMs + deadAfterMs / 2) {
      // We stalled: our workers' leases may have run out only because their heartbeats sat unread
      // in our sockets. Let two rounds of those heartbeats renew them before sweeping anything.
      sweepPausedUntil = tick + 2 * heartbeatIntervalMs;
      log.warn("coordinator stalled: pausing the lease sweep", { stalled_ms: Math.round(gap), pause_ms: 2 * heartbeatIntervalMs });
    }
    if (tick < sweepPausedUntil) return;
    try {
      const lost = await sweepExpiredLeases(db);
      if (lost.length > 0) {
        logLost(lost, "lease expired");
        for (const t of lost) registry.release(t.id);
        wake();
      }
      await markSilentWorkersOffline(db, Math.max(deadAfterMs * 2, leaseMs));
      await renewOfferedSlots();
    } catch (error) {
      log.warn("lease sweep failed; will retry", { error: String(error) });
    }
  }, sweepIntervalMs);

  const safetyTimer = setInterval(() => wake(), safetyPollMs);

  // ---- cancellation --------------------------------------------------------------------------
  // A task cancelled while one of our workers holds it: tell the worker to stop it, free the slot.
  let cancelCheck: Promise<void> | undefined;
  let cancelCheckAgain = false;
  const stopCancelledTasks = () => {
    if (cancelCheck) {
      cancelCheckAgain = true;
      return;
    }
    cancelCheck = (async () => {
      do {
        cancelCheckAgain = false;
        try {
          for (const task of await cancelledAmong(db, registry.heldTaskIds())) {
            const holder = registry.holder(task.id);
            const worker = holder && registry.get(holder.workerId);
            registry.release(task.id);
            if (!worker || !holder) continue;
            log.info("cancelling a running attempt", { task_id: task.id, attempt: holder.attempt, worker_id: worker.id });
            worker.client.CancelTask(
              { task_id: task.id, attempt: holder.attempt, reason: "task cancelled" },
              { deadline: Date.now() + dispatchTimeoutMs },
              (error) => {
                if (error) log.warn("could not tell the worker to cancel", { task_id: task.id, worker_id: worker.id, error: error.message });
              },
            );
          }
        } catch (error) {
          log.warn("cancellation check failed", { error: String(error) });
        }
      } while (cancelCheckAgain && !closed);
    })().finally(() => {
      cancelCheck = undefined;
      wake(true);
    });
  };

  // ---- notifications -------------------------------------------------------------------------
  const listener = listenForNotifications(
    options.databaseUrl,
    [CHANNELS.handoff, CHANNELS.due, CHANNELS.workers, CHANNELS.tasks],
    (channel, payload) => {
      if (channel === CHANNELS.handoff) return void handOff(payload);
      if (channel === CHANNELS.due) {
        // With slots on offer, the INSERT that sent this may have handed some of its tasks to them
        // (their notifications come first) and left the rest (more than the offers, or keyed): claim
        // a moment later, off those dispatches' path.
        if (registry.offerIds().length > 0) return afterHandOff(wake);
        return wake();
      }
      if (channel === CHANNELS.tasks) {
        // "cancelled": how many rows of the statement became CANCELLED. (Before that field, a
        // statement too large to list its rows might have hidden one: then look whenever rows is null.)
        const cancelled = /"cancelled": (\d+)/.exec(payload);
        if (cancelled ? cancelled[1] === "0" : !payload.includes('"CANCELLED"') && !payload.includes('"rows": null')) return;
        const held = registry.heldTaskIds();
        if (held.length > 0) stopCancelledTasks();
        return;
      }
      try {
        const change = JSON.parse(payload) as { id?: number; status?: string };
        if (change.status === "OFFLINE" && typeof change.id === "number" && registry.get(change.id)) {
          void workerLost(change.id, "marked offline (its process exited)");
        }
      } catch {
        // not ours to parse
      }
    },
    {
      onConnected: (reconnected) => {
        if (reconnected) log.info("notifications reconnected");
        wake();
      },
      onDisconnected: (error) => log.warn("notifications connection lost; reconnecting", { error: error.message }),
    },
  );

  // ---- heartbeats into the database ----------------------------------------------------------
  type Beat = Parameters<typeof recordHeartbeat>[1];
  /** What a restarted worker's earlier process held: its tasks, and those of them it had started. */
  type Lost = { held: string[]; started: string[] };
  const mirroring = new Map<number, { latest?: { beat: Beat; result: BeatResult; lost: Lost } }>();
  const mirrorHeartbeat = (beat: Beat, result: BeatResult, lost: Lost) => {
    const current = mirroring.get(beat.id);
    if (current) {
      // One write per worker at a time; a "joined"/"restarted" beat is never coalesced away.
      if (!current.latest || current.latest.result === "updated") current.latest = { beat, result, lost };
      return;
    }
    const state: { latest?: { beat: Beat; result: BeatResult; lost: Lost } } = {};
    mirroring.set(beat.id, state);
    void (async () => {
      let next: { beat: Beat; result: BeatResult; lost: Lost } | undefined = { beat, result, lost };
      while (next && !closed) {
        await mirrorOnce(next.beat, next.result, next.lost);
        next = state.latest;
        state.latest = undefined;
      }
      mirroring.delete(beat.id);
    })();
  };

  const mirrorOnce = async (beat: Beat, result: BeatResult, lost: Lost) => {
    try {
      if (result === "restarted") {
        log.warn("worker restarted under the same id", { worker_id: beat.id, address: beat.address });
        logLost(await requeueWorkerTasks(db, beat.id, "worker restarted", lost.started), "worker restarted");
        for (const taskId of lost.held) registry.release(taskId);
      }
      await recordHeartbeat(db, beat, coordinatorId, leaseMs);
      if (beat.holding) {
        // The list is as old as the beat: only attempts picked well before it was sent count.
        const beatAgeMs = Math.max(0, now() - (beat.receivedAt ?? now()));
        const graceMs = dispatchTimeoutMs + Math.min(heartbeatIntervalMs, 1000) + Math.round(beatAgeMs);
        const taken = await requeueUnheldAttempts(db, beat.id, beat.holding, graceMs);
        if (taken.length > 0) {
          logLost(taken, "not held by its worker");
          for (const t of taken) registry.release(t.id);
        }
      }
      if (result === "joined") {
        const held = beat.holding ?? (await heldAttempts(db, beat.id)).map((h) => ({ taskId: h.id, attempt: h.attempt }));
        for (const h of held) {
          registry.hold(beat.id, h.taskId, h.attempt);
          if (h.attempt === 1) registry.markStarted(h.taskId, 1, beat.id); // it may be running (see claimAndBind)
        }
        log.info("worker joined", { worker_id: beat.id, address: beat.address, capacity: beat.capacity });
      }
      if (result !== "updated") wake();
      else if (!beat.draining) wake(true);
    } catch (error) {
      log.warn("could not record a heartbeat; the next one will", { worker_id: beat.id, error: String(error) });
    }
  };

  // ---- gRPC service --------------------------------------------------------------------------
  const invalid = (details: string) => ({ code: grpc.status.INVALID_ARGUMENT, details });
  const unavailable = (error: unknown) => ({
    code: grpc.status.UNAVAILABLE,
    // Prisma's messages may start with a blank line: say the first line that says something.
    details: `database unavailable, retry: ${error instanceof Error ? (error.message.split("\n").find((line) => line.trim() !== "")?.trim() ?? error.name) : String(error)}`,
  });

  /** A report's fate, in the words of the wire: ReportBatch's code, or a gRPC status for the unary RPC. */
  type Verdict = { code: "ACCEPTED" | "STALE" | "NOT_FOUND" | "INVALID" | "RETRY"; message: string; attempt: number };

  const staleMessage = (r: StatusReport, result: ReportResult) =>
    `stale attempt: report for attempt ${r.attempt || "(unspecified)"} of task ${r.task_id} by worker ${r.worker_id || "(unspecified)"}, but the current attempt is ${result.attempt} (status ${result.status}) on worker ${result.workerId ?? "none"}`;

  /**
   * Applies status reports (one or many) in a few statements: every STARTED at once, every COMPLETE
   * at once (a STARTED whose COMPLETE is in the same batch is folded into it), FAILED one by one
   * (rare). Frees the slots of finished attempts and wakes the dispatcher. One verdict per report.
   */
  // A first attempt's STARTED whose attempt this coordinator dispatched to that very worker is
  // accepted at once, from the registry (the handler waits for that answer, so the worker can be
  // charged for a crash: see requeueWorkerTasks' startedTaskIds). It is written only if the attempt
  // is still running `startedWriteDelayMs` later; a quicker attempt's COMPLETE or FAILED carries
  // its start time instead. A retry's STARTED is always written before it is answered.
  const startedWriteDelayMs = 100;
  const pendingStarts = new Map<string, { attempt: number; workerId: number; at: Date }>();
  let startsTimer: ReturnType<typeof setTimeout> | undefined;
  const armStartsTimer = () => {
    if (!startsTimer && !closed && pendingStarts.size > 0) startsTimer = setTimeout(() => void writeStarts(), startedWriteDelayMs);
  };
  const writeStarts = async () => {
    const due = Date.now() - startedWriteDelayMs;
    const batch = [...pendingStarts].filter(([, p]) => p.at.getTime() <= due);
    for (const [taskId] of batch) pendingStarts.delete(taskId);
    try {
      if (batch.length > 0) {
        await markTasksStarted(db, batch.map(([taskId, p]) => ({ taskId, attempt: p.attempt, workerId: p.workerId, startedAt: p.at })), leaseMs);
      }
    } catch (error) {
      log.warn("could not record STARTED; will retry", { tasks: batch.length, error: String(error) });
      for (const [taskId, p] of batch) if (!pendingStarts.has(taskId)) pendingStarts.set(taskId, p);
    }
    startsTimer = undefined;
    armStartsTimer();
  };
  /** The start time of a finishing attempt whose STARTED was accepted but not written (forgotten here). */
  const takePendingStart = (r: StatusReport): Date | undefined => {
    const pending = pendingStarts.get(r.task_id);
    if (!pending || pending.attempt !== r.attempt) return undefined;
    pendingStarts.delete(r.task_id);
    return pending.at;
  };

  /**
   * Accepts, from the registry, the STARTED reports of first attempts this coordinator dispatched
   * to the reporting worker (not those whose COMPLETE/FAILED is in the same call: they fold into
   * it). Says which reports it accepted; the rest go to {@linkcode applyReports}.
   */
  const acceptStartsFromRegistry = (reports: StatusReport[]): boolean[] => {
    const finishing = new Set(reports.filter((r) => r.status !== "STARTED").map((r) => `${r.task_id}/${r.attempt}`));
    const accepted = reports.map((r) => {
      if (r.status !== "STARTED" || r.attempt !== 1 || finishing.has(`${r.task_id}/${r.attempt}`)) return false;
      if (!registry.markStarted(r.task_id, r.attempt, r.worker_id)) return false;
      // The handler's own start when the report says it (sent after the handler ran a while), else
      // now; never later than now (the worker's clock may run ahead).
      const at = new Date(r.started_at_ms > 0 ? Math.min(r.started_at_ms, Date.now()) : Date.now());
      pendingStarts.set(r.task_id, { attempt: r.attempt, workerId: registry.holder(r.task_id)!.workerId, at });
      return true;
    });
    armStartsTimer();
    return accepted;
  };

  /**
   * Frees at once the slots of attempts whose COMPLETE or FAILED just arrived from the worker that
   * holds them: the worker's slot is already free (it reports after its handler returned), so the
   * next claim need not wait for this report's commit. Whatever the database then says, the worker
   * has let the attempt go (a STALE verdict changes nothing; a RETRY is sent again by the worker,
   * whose heartbeats keep the lease while it is unsent).
   */
  const freeFinishedSlots = (reports: StatusReport[]) => {
    let freed = false;
    for (const r of reports) {
      if (r.status === "STARTED" || r.attempt === 0) continue;
      const holder = registry.holder(r.task_id);
      if (holder && holder.attempt === r.attempt && holder.workerId === r.worker_id) {
        registry.release(r.task_id);
        freed = true;
      }
    }
    if (freed) wake(true);
  };

  const applyReports = async (reports: StatusReport[]): Promise<Verdict[]> => {
    const verdicts: Verdict[] = new Array(reports.length);
    const finishing = new Set(reports.filter((r) => r.status !== "STARTED").map((r) => `${r.task_id}/${r.attempt}`));
    const started: number[] = [];
    const completed: number[] = [];
    const failed: number[] = [];
    const folded: number[] = [];
    reports.forEach((r, i) => {
      if (r.status === "COMPLETE" && r.result_json) {
        try {
          JSON.parse(r.result_json);
        } catch {
          verdicts[i] = { code: "INVALID", message: "result_json is not valid JSON", attempt: r.attempt };
          return;
        }
      }
      if (r.status !== "STARTED") (r.status === "COMPLETE" ? completed : failed).push(i);
      else if (finishing.has(`${r.task_id}/${r.attempt}`)) folded.push(i);
      else started.push(i);
    });
    // The start time: when its STARTED arrived here, else the one its COMPLETE/FAILED carries (a
    // quick first attempt sends no STARTED), else the database's now.
    const startedAtOf = (r: StatusReport) => takePendingStart(r) ?? (r.started_at_ms > 0 ? new Date(r.started_at_ms) : undefined);
    const ref = (r: StatusReport) => ({ taskId: r.task_id, attempt: r.attempt, workerId: r.worker_id, startedAt: startedAtOf(r) });
    const results = new Map<number, ReportResult>();
    const startedResults = await markTasksStarted(db, started.map((i) => ref(reports[i]!)), leaseMs);
    started.forEach((i, k) => results.set(i, startedResults[k]!));
    const completedResults = await completeTasks(
      db,
      completed.map((i) => {
        const r = reports[i]!;
        return { taskId: r.task_id, attempt: r.attempt, workerId: r.worker_id, startedAt: startedAtOf(r), resultJson: r.result_json || null };
      }),
    );
    completed.forEach((i, k) => results.set(i, completedResults[k]!));
    for (const i of failed) {
      const r = reports[i]!;
      const attempt = r.attempt || registry.holder(r.task_id)?.attempt || 1;
      results.set(
        i,
        await failTask(db, {
          ...ref(r),
          error: r.error || "failed without a message",
          notRetryable: r.not_retryable,
          retryDelayMs: retryDelayMs(attempt, retry),
        }),
      );
    }
    let freed = false;
    let stale = 0;
    for (const [i, result] of results) {
      const r = reports[i]!;
      if (result.outcome === "applied") {
        log.debug(r.status === "STARTED" ? "task started" : r.status === "COMPLETE" ? "task completed" : `task failed -> ${result.status}`, {
          task_id: r.task_id,
          attempt: result.attempt,
          worker_id: result.workerId ?? undefined,
          error: r.status === "FAILED" ? r.error : undefined,
        });
        if (r.status === "FAILED") log.info(`task failed -> ${result.status}`, { task_id: r.task_id, attempt: result.attempt, error: r.error });
      }
      if (r.status !== "STARTED" && result.outcome !== "not_found") {
        // The slot is free whatever the outcome: a stale worker has dropped the task too.
        const holder = registry.holder(r.task_id);
        if (holder && (r.attempt === 0 || holder.attempt === r.attempt)) {
          registry.release(r.task_id);
          freed = true;
        }
      }
      switch (result.outcome) {
        case "applied":
        case "duplicate":
          verdicts[i] = { code: "ACCEPTED", message: "", attempt: result.attempt };
          break;
        case "not_found":
          verdicts[i] = { code: "NOT_FOUND", message: `Task not found: ${r.task_id}`, attempt: r.attempt };
          break;
        case "stale":
          stale++;
          log.warn("stale report rejected", { task_id: r.task_id, attempt: r.attempt, current_attempt: result.attempt, worker_id: r.worker_id });
          verdicts[i] = { code: "STALE", message: staleMessage(r, result), attempt: result.attempt };
          break;
      }
    }
    // A STARTED folded into its COMPLETE/FAILED shares that report's fate.
    for (const i of folded) {
      const r = reports[i]!;
      const twin = reports.findIndex((o, j) => j !== i && o.status !== "STARTED" && o.task_id === r.task_id && o.attempt === r.attempt);
      verdicts[i] = verdicts[twin] ?? { code: "RETRY", message: "not applied", attempt: r.attempt };
    }
    if (stale > 0) incrementCounter(db, "stale_reports", stale).catch(() => {});
    if (freed) wake(true);
    return verdicts;
  };

  // Reports from every worker are applied together: while one set is being applied, whatever
  // arrives waits and goes in the next (so an idle system's report is applied at once, a busy
  // one's in a few large statements instead of many small ones).
  const waitingReports: { reports: StatusReport[]; resolve: (v: Verdict[]) => void; reject: (e: unknown) => void }[] = [];
  let applying = false;
  const applyTogether = (reports: StatusReport[]): Promise<Verdict[]> =>
    new Promise((resolve, reject) => {
      waitingReports.push({ reports, resolve, reject });
      if (!applying) void drainReports();
    });
  const drainReports = async () => {
    applying = true;
    while (waitingReports.length > 0) {
      const group: typeof waitingReports = [];
      let size = 0;
      while (waitingReports.length > 0 && (group.length === 0 || size + waitingReports[0]!.reports.length <= 5000)) {
        const next = waitingReports.shift()!;
        group.push(next);
        size += next.reports.length;
      }
      try {
        const verdicts = await applyReports(group.flatMap((g) => g.reports));
        let k = 0;
        for (const g of group) {
          g.resolve(verdicts.slice(k, k + g.reports.length));
          k += g.reports.length;
        }
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
    applying = false;
  };

  const grpcStatusOf: Record<Exclude<Verdict["code"], "ACCEPTED">, grpc.status> = {
    STALE: grpc.status.FAILED_PRECONDITION,
    NOT_FOUND: grpc.status.NOT_FOUND,
    INVALID: grpc.status.INVALID_ARGUMENT,
    RETRY: grpc.status.UNAVAILABLE,
  };

  /** ReportBatch, unary or streamed: one result per report, in order. */
  const reportBatch = async (
    request: ReportBatchRequest__Output,
    callback: (error: { code: grpc.status; details: string } | null, response?: ReportBatchResponse) => void,
  ) => {
    const reports = request.reports ?? [];
    if (reports.length > 5000) return callback(invalid("a ReportBatch holds at most 5000 reports"));
    const parsed = reports.map((r) => parseStatusReport(r));
    const valid = parsed.flatMap((p, i) => (p.success ? [{ i, report: p.data }] : []));
    try {
      const fromRegistry = acceptStartsFromRegistry(valid.map((v) => v.report));
      const rest = valid.filter((_, k) => !fromRegistry[k]);
      freeFinishedSlots(rest.map((v) => v.report));
      const verdicts = rest.length > 0 ? await applyTogether(rest.map((v) => v.report)) : [];
      const byIndex = new Map<number, Verdict>(rest.map((v, k) => [v.i, verdicts[k]!]));
      valid.forEach((v, k) => {
        if (fromRegistry[k]) byIndex.set(v.i, { code: "ACCEPTED", message: "", attempt: v.report.attempt });
      });
      callback(null, {
        results: reports.map((r, i) => {
          const p = parsed[i]!;
          const v = byIndex.get(i);
          if (!p.success || !v) {
            return { task_id: r.task_id, attempt: r.attempt, code: "INVALID", message: p.success ? "not applied" : describeIssues(p.error) };
          }
          return { task_id: r.task_id, attempt: v.attempt, code: v.code, message: v.message };
        }),
      });
    } catch (error) {
      // Nothing of the batch is known to be applied: every report is to be sent again (they are idempotent).
      callback(null, {
        results: reports.map((r) => ({ task_id: r.task_id, attempt: r.attempt, code: "RETRY", message: unavailable(error).details })),
      });
    }
  };

  const handlers: CoordinatorServiceHandlers = {
    SubmitTask: async (call, callback) => {
      if (registry.available().length === 0) {
        return callback({ code: grpc.status.UNAVAILABLE, details: "no workers available" });
      }
      const data = call.request.data;
      if (typeof data !== "string" || data.trim() === "") return callback(invalid("data (the command) is required"));
      let payload: string | null = null;
      if (call.request.payload_json) {
        try {
          JSON.parse(call.request.payload_json);
          payload = call.request.payload_json;
        } catch {
          return callback(invalid("payload_json is not valid JSON"));
        }
      }
      try {
        const rows = await db.query<{ id: string }>`
          INSERT INTO tasks (id, command, payload, scheduled_at) VALUES (gen_random_uuid(), ${data}, ${payload}::jsonb, now())
          RETURNING id::text AS id`;
        callback(null, { message: "Task submitted", task_id: rows[0]!.id });
      } catch (error) {
        callback(unavailable(error));
      }
    },

    SendHeartbeat: (call, callback) => {
      const parsed = heartbeatSchema.safeParse(call.request);
      if (!parsed.success) return callback(invalid(describeIssues(parsed.error)));
      const beat = {
        id: parsed.data.workerId,
        address: parsed.data.address,
        capacity: parsed.data.capacity || 5,
        handlers: parsed.data.handlers,
        inFlight: parsed.data.in_flight,
        draining: parsed.data.draining,
        batchDispatch: parsed.data.batch_dispatch,
        holding: parsed.data.reports_holding ? parseHolding(parsed.data.holding) : undefined,
        receivedAt: now(),
      };
      // Liveness is the registry's, answered at once: a slow or unavailable database must not make
      // a live worker look dead. Mirroring to the database follows, one write per worker at a time.
      const { result, lost, lostStarted } = registry.beat(beat, now());
      callback(null, { acknowledged: true, coordinator_id: coordinatorId });
      mirrorHeartbeat(beat, result, { held: lost, started: lostStarted });
    },

    UpdateTaskStatus: async (call, callback) => {
      const parsed = parseStatusReport(call.request);
      if (!parsed.success) return callback(invalid(describeIssues(parsed.error)));
      try {
        if (acceptStartsFromRegistry([parsed.data])[0]) return callback(null, { success: true });
        freeFinishedSlots([parsed.data]);
        const [verdict] = await applyTogether([parsed.data]);
        if (!verdict || verdict.code === "ACCEPTED") return callback(null, { success: true });
        callback({ code: grpcStatusOf[verdict.code], details: verdict.message });
      } catch (error) {
        callback(unavailable(error));
      }
    },

    ReportBatch: (call, callback) => void reportBatch(call.request, callback),

    ReportStream: (call) => serveStreamedCalls(call, (message) => message.request ?? undefined, (request, callback) => void reportBatch(request, callback)),

    ReportProgress: async (call, callback) => {
      const parsed = progressReportSchema.safeParse(call.request);
      if (!parsed.success) return callback(invalid(describeIssues(parsed.error)));
      const p = parsed.data;
      try {
        await recordProgress(db, { taskId: p.task_id, attempt: p.attempt, workerId: p.worker_id, progress: p.progress });
        callback(null, { success: true });
      } catch (error) {
        callback(unavailable(error));
      }
    },
  };

  const server = new grpc.Server();
  server.addService(api.CoordinatorService.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host ?? "0.0.0.0"}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  await listener.ready;

  return {
    port,
    coordinatorId,
    close: async () => {
      closed = true;
      clearInterval(livenessTimer);
      clearInterval(sweepTimer);
      clearInterval(safetyTimer);
      clearTimeout(dueTimer);
      clearTimeout(startsTimer);
      await offering;
      if (registry.offerIds().length > 0) await takeBackOffers();
      await listener.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      for (const w of registry.all()) registry.remove(w.id);
    },
  };
}
