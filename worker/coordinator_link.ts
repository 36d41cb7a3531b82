import * as grpc from "@grpc/grpc-js";
import {
  type CoordinatorServiceClient,
  type HeartbeatRequest,
  type HeartbeatResponse__Output,
  loadGrpcApi,
  type ProgressReport,
  type UpdateTaskStatusRequest,
  type UpdateTaskStatusResponse,
} from "../proto/mod.ts";
import type { Logger } from "../shared/mod.ts";
import { classifyCallError, describeCallError, grpcCode } from "./_grpc_errors.ts";
import { createReportBatcher } from "./_report_batcher.ts";
import { type RetryOptions, retryWithJitter } from "./_retry.ts";

/** One attempt of one task, as reports name it (`attempt` 0 = a seed coordinator did not send one). */
export interface AttemptRef {
  taskId: string;
  attempt: number;
}

/**
 * How a report ended: `accepted` by the coordinator; `stale` (the attempt is no longer current: abort
 * and drop it); `rejected` (NOT_FOUND, INVALID_ARGUMENT...: dropped and logged); `gave_up` (retries
 * exhausted); `cancelled` (the link was closed first).
 */
export type ReportOutcome = "accepted" | "stale" | "rejected" | "gave_up" | "cancelled";

/** Where the task pool sends what happens to an attempt. Implemented by {@linkcode createCoordinatorLink}. */
export interface TaskReporter {
  /**
   * STARTED, `startedAt` in unix seconds; retried until accepted or refused. `startedAtMs`: when the
   * handler started (unix ms), if it already runs.
   */
  started(ref: AttemptRef, startedAt: number, startedAtMs?: number): Promise<ReportOutcome>;
  /** Progress 0..100: best effort, one try. */
  progress(ref: AttemptRef, percent: number): Promise<ReportOutcome>;
  /**
   * COMPLETE with the result as JSON (`""` = none); retried until accepted or refused. `startedAtMs`:
   * when the handler started (unix ms), for an attempt that sent no STARTED.
   */
  completed(ref: AttemptRef, resultJson: string, completedAt: number, startedAtMs?: number): Promise<ReportOutcome>;
  /** FAILED with why; retried until accepted or refused. `startedAtMs` as for `completed`. */
  failed(ref: AttemptRef, error: string, notRetryable: boolean, failedAt: number, startedAtMs?: number): Promise<ReportOutcome>;
}

/** What the heartbeat says about the worker's load, read at each beat. */
export interface WorkerLoad {
  inFlight: number;
  draining: boolean;
  /** Attempts held (`${taskId}/${attempt}`), so the coordinator renews just their leases. */
  holding: string[];
}

/** Options for {@linkcode createCoordinatorLink}. */
export interface CoordinatorLinkOptions {
  /**
   * The coordinators' gRPC addresses: `host:port`, or several separated by commas
   * (`"coord-a:8080,coord-b:8080"`). The worker registers with the first; after `failoverAfterMisses`
   * heartbeats in a row that no coordinator answered, it moves to the next (wrapping around). One
   * name that resolves to several addresses (a Kubernetes headless Service) is one target: gRPC
   * connects to one of its addresses (shuffled, so workers spread) and to another when that one stops.
   */
  target: string;
  /** Heartbeats in a row without an answer before moving to the next coordinator address. Default 3. */
  failoverAfterMisses?: number;
  /** This worker's uint32 id. */
  workerId: number;
  /** Where the coordinator reaches this worker, `host:port`. */
  address: string;
  /** Slots of the pool (heartbeat `capacity`). */
  capacity: number;
  /** Commands with a handler (heartbeat `handlers`). */
  handlerNames: readonly string[];
  /** Time between heartbeats, ms; the first is sent at once. */
  heartbeatIntervalMs: number;
  /** Read at each heartbeat. */
  load: () => WorkerLoad;
  logger: Logger;
  /** Backoff of STARTED/COMPLETE/FAILED reports. Defaults: 100 ms first, 5 s cap, 2 minutes in all. */
  retry?: RetryOptions;
  /** Deadline of one call, ms. Default 5000. */
  callTimeoutMs?: number;
  /** Channel credentials. Default insecure (plaintext), as the seed. */
  credentials?: grpc.ChannelCredentials;
}

/** The worker's side of the coordinator: heartbeats on their own timer, and status reports. */
export interface CoordinatorLink extends TaskReporter {
  /** Sends the first heartbeat at once and schedules the next ones; resolves once the first was attempted. */
  startHeartbeats(): Promise<void>;
  /** Sends a heartbeat now (e.g. `draining: true`); resolves true when the coordinator acknowledged it. */
  heartbeatNow(): Promise<boolean>;
  /** Stops the heartbeat timer (the coordinator then sees the worker gone after its misses). */
  stopHeartbeats(): void;
  /** Stops heartbeats, cancels pending report retries (they resolve `cancelled`) and closes the channel. */
  close(): void;
}

type Unary<Req, Res> = (request: Req, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => unknown;

/**
 * The addresses in a COORDINATOR value: `"a:8080, b:8080"` -> `["a:8080", "b:8080"]`. Throws a
 * RangeError naming the value when it holds none.
 */
export function parseCoordinatorTargets(value: string): string[] {
  const targets = value
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (targets.length === 0) {
    throw new RangeError(`Cannot connect as 'target' must name at least one coordinator "host:port": current value is "${value}"`);
  }
  return targets;
}

/**
 * A name that resolves to several coordinators is connected "pick first", with the resolved
 * addresses shuffled: each worker picks one at random, and another when its own stops answering.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ pick_first: { shuffleAddressList: true } }] }),
};

/**
 * Creates the link to the coordinator at `options.target` (or the first of several). Nothing is sent
 * before `startHeartbeats()` or a report.
 */
export function createCoordinatorLink(options: CoordinatorLinkOptions): CoordinatorLink {
  const api = loadGrpcApi();
  const targets = parseCoordinatorTargets(options.target);
  const failoverAfterMisses = options.failoverAfterMisses ?? 3;
  if (!Number.isInteger(failoverAfterMisses) || failoverAfterMisses < 1) {
    throw new RangeError(
      `Cannot connect as 'failoverAfterMisses' must be a positive integer: current value is ${failoverAfterMisses}`,
    );
  }
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  let targetIndex = 0;
  let target = targets[0]!;
  const connect = (address: string): CoordinatorServiceClient => new api.CoordinatorService(address, credentials, CHANNEL_OPTIONS);
  let client: CoordinatorServiceClient = connect(target);
  const log = options.logger;
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const closing = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let heartbeating = false;
  let beatInFlight: Promise<boolean> | undefined;
  let heartbeatFailing = false;
  /** Heartbeats in a row that got no answer from the current coordinator. */
  let missedBeats = 0;
  /** The coordinator_id that last acknowledged a heartbeat. */
  let coordinatorId: string | undefined;
  let progressSupported = true;
  let batcher = createReportBatcher({ client, workerId: options.workerId, callTimeoutMs });
  /** Closes channels left behind by a failover (at once when the link closes). */
  const closers = new Set<() => void>();
  let beatSoon = false;

  /**
   * Moves to the next coordinator address: a new channel and report batcher. Calls on the old
   * channel finish or fail there (reports are then retried here: they are idempotent, and any
   * coordinator accepts them since all share one database); the old channel is closed after them.
   */
  function failover(): void {
    const from = target;
    const old = client;
    const oldBatcher = batcher;
    targetIndex = (targetIndex + 1) % targets.length;
    target = targets[targetIndex]!;
    client = connect(target);
    batcher = createReportBatcher({ client, workerId: options.workerId, callTimeoutMs });
    missedBeats = 0;
    log.warn("coordinator stopped answering heartbeats: moving to the next address", {
      from,
      to: target,
      missed_heartbeats: failoverAfterMisses,
    });
    const closeNow = () => {
      clearTimeout(closeOld);
      closers.delete(closeNow);
      oldBatcher.close();
      old.close();
    };
    const closeOld = setTimeout(closeNow, callTimeoutMs * 2);
    closeOld.unref();
    closers.add(closeNow);
    // Register with the new one at once rather than an interval later.
    beatSoon = true;
  }

  /** Whether a failed heartbeat got no answer from a coordinator process (down, unreachable, too slow). */
  const unanswered = (error: unknown): boolean => {
    const code = grpcCode(error);
    // A coordinator that answers "database unavailable" is alive: moving would not help.
    const details = typeof error === "object" && error !== null && "details" in error ? String(error.details) : "";
    if (code === grpc.status.UNAVAILABLE) return !details.startsWith("database unavailable");
    return code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED || code === undefined;
  };

  function call<Req, Res>(method: Unary<Req, Res>, request: Req, timeoutMs = callTimeoutMs): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method(request, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) reject(error);
        else if (response === undefined) reject(new Error("empty response from the coordinator"));
        else resolve(response);
      });
    });
  }

  function beat(): Promise<boolean> {
    if (beatInFlight) return beatInFlight;
    const load = options.load();
    const request: HeartbeatRequest = {
      workerId: options.workerId,
      address: options.address,
      capacity: options.capacity,
      handlers: [...options.handlerNames],
      in_flight: load.inFlight,
      draining: load.draining,
      batch_dispatch: true,
      holding: load.holding,
      reports_holding: true,
    };
    const method: Unary<HeartbeatRequest, HeartbeatResponse__Output> = (r, o, cb) => client.SendHeartbeat(r, o, cb);
    beatInFlight = call(method, request, Math.min(callTimeoutMs, Math.max(options.heartbeatIntervalMs, 1000)))
      .then((response) => {
        if (heartbeatFailing) log.info("heartbeat restored", { coordinator: target });
        heartbeatFailing = false;
        missedBeats = 0;
        if (response.coordinator_id && response.coordinator_id !== coordinatorId) {
          log.info("registered with a coordinator", { coordinator: target, coordinator_id: response.coordinator_id, previous: coordinatorId });
          coordinatorId = response.coordinator_id;
        }
        log.debug("heartbeat", { in_flight: load.inFlight, draining: load.draining, coordinator_id: response.coordinator_id });
        return response.acknowledged;
      })
      .catch((error: unknown) => {
        const fields = { coordinator: target, error: describeCallError(error) };
        if (heartbeatFailing) log.debug("heartbeat failed", fields);
        else log.warn("heartbeat failed", fields);
        heartbeatFailing = true;
        if (unanswered(error) && ++missedBeats >= failoverAfterMisses && targets.length > 1 && !closing.signal.aborted) {
          failover();
          heartbeatFailing = false;
        }
        return false;
      })
      .finally(() => {
        beatInFlight = undefined;
      });
    return beatInFlight;
  }

  function scheduleNext() {
    if (!heartbeating) return;
    const delayMs = beatSoon ? 0 : options.heartbeatIntervalMs;
    beatSoon = false;
    timer = setTimeout(() => {
      void beat().finally(scheduleNext);
    }, delayMs);
  }

  async function report(ref: AttemptRef, request: UpdateTaskStatusRequest): Promise<ReportOutcome> {
    if (closing.signal.aborted) return "cancelled";
    // The first try goes without the retry machinery (most reports are accepted at once: this runs
    // for every finished task, so nothing for a retry is made before one is needed); a retryable
    // failure goes on in retryWithJitter, as its first try.
    const startedAt = performance.now();
    try {
      let response: UpdateTaskStatusResponse;
      try {
        response = await batcher.send(request);
      } catch (error) {
        response = await retryWithJitter(
          () => batcher.send(request),
          {
            ...options.retry,
            signal: closing.signal,
            shouldRetry: (e) => classifyCallError(e) === "retry",
            onRetry: (e, tryNumber, delayMs) =>
              log.warn("report failed, retrying", { ...reportFields(ref, request), error: describeCallError(e), try: tryNumber, delay_ms: delayMs }),
          },
          { error, startedAt },
        );
      }
      if (response.success === false) {
        log.warn("report not accepted (success false): dropped", reportFields(ref, request));
        return "rejected";
      }
      if (log.enabled("debug")) log.debug("report accepted", reportFields(ref, request));
      return "accepted";
    } catch (error) {
      const kind = classifyCallError(error);
      if (kind === "stale") {
        log.info("attempt is stale: dropped", { ...reportFields(ref, request), error: describeCallError(error) });
        return "stale";
      }
      if (kind === "rejected") {
        log.warn("report rejected: dropped", { ...reportFields(ref, request), error: describeCallError(error) });
        return "rejected";
      }
      if (closing.signal.aborted) {
        log.warn("report cancelled: worker closing", { ...reportFields(ref, request), error: describeCallError(error) });
        return "cancelled";
      }
      log.error("report failed, giving up", { ...reportFields(ref, request), error: describeCallError(error) });
      return "gave_up";
    }
  }

  const base = (ref: AttemptRef) => ({ task_id: ref.taskId, attempt: ref.attempt, worker_id: options.workerId });
  /**
   * A status report, every field in one order whichever the status (one object shape for the encoder,
   * which then reads every report the same way); a field left undefined is not sent.
   */
  const statusReport = (
    ref: AttemptRef,
    status: "STARTED" | "COMPLETE" | "FAILED",
    fields: { started_at?: number; completed_at?: number; failed_at?: number; result_json?: string; error?: string; not_retryable?: boolean; started_at_ms?: number },
  ): UpdateTaskStatusRequest => ({
    task_id: ref.taskId,
    status,
    started_at: fields.started_at,
    completed_at: fields.completed_at,
    failed_at: fields.failed_at,
    attempt: ref.attempt,
    worker_id: options.workerId,
    result_json: fields.result_json,
    error: fields.error,
    not_retryable: fields.not_retryable,
    started_at_ms: fields.started_at_ms,
  });

  return {
    async startHeartbeats() {
      if (heartbeating || closing.signal.aborted) return;
      heartbeating = true;
      await beat();
      scheduleNext();
    },
    async heartbeatNow() {
      if (closing.signal.aborted) return false;
      // A beat already on the wire carries the old load: let it land, then send the current one.
      if (beatInFlight) await beatInFlight;
      return beat();
    },
    stopHeartbeats() {
      heartbeating = false;
      clearTimeout(timer);
    },
    started: (ref, startedAt, startedAtMs) => report(ref, statusReport(ref, "STARTED", { started_at: startedAt, started_at_ms: startedAtMs ?? 0 })),
    completed: (ref, resultJson, completedAt, startedAtMs) =>
      report(ref, statusReport(ref, "COMPLETE", { completed_at: completedAt, result_json: resultJson, started_at_ms: startedAtMs ?? 0 })),
    failed: (ref, error, notRetryable, failedAt, startedAtMs) =>
      report(ref, statusReport(ref, "FAILED", { failed_at: failedAt, error, not_retryable: notRetryable, started_at_ms: startedAtMs ?? 0 })),
    async progress(ref, percent) {
      if (closing.signal.aborted) return "cancelled";
      if (!progressSupported) return "rejected";
      const request: ProgressReport = { ...base(ref), progress: percent };
      const method: Unary<ProgressReport, UpdateTaskStatusResponse> = (r, o, cb) => client.ReportProgress(r, o, cb);
      try {
        await call(method, request);
        return "accepted";
      } catch (error) {
        const fields = { task_id: ref.taskId, attempt: ref.attempt, error: describeCallError(error) };
        if (grpcCode(error) === grpc.status.UNIMPLEMENTED) {
          progressSupported = false;
          log.info("coordinator does not take progress reports: not sending more", fields);
          return "rejected";
        }
        const kind = classifyCallError(error);
        if (kind === "stale") {
          log.info("attempt is stale: dropped", fields);
          return "stale";
        }
        log.debug("progress report failed", fields);
        return kind === "rejected" ? "rejected" : "gave_up";
      }
    },
    close() {
      heartbeating = false;
      clearTimeout(timer);
      closing.abort();
      batcher.close();
      client.close();
      for (const closeNow of [...closers]) closeNow();
    },
  };
}

/** A report's fields for a log line (made only for a line that is written: every finished task is reported). */
function reportFields(ref: AttemptRef, request: UpdateTaskStatusRequest): { task_id: string; attempt: number; status: string } {
  return { task_id: ref.taskId, attempt: ref.attempt, status: String(request.status) };
}
