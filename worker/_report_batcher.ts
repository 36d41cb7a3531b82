// Private to worker/: coalesces status reports into ReportBatch calls.
import * as grpc from "@grpc/grpc-js";
import {
  type CoordinatorServiceClient,
  createStreamedCaller,
  type ReportBatchRequest,
  type ReportBatchResponse__Output,
  type UpdateTaskStatusRequest,
  type UpdateTaskStatusResponse,
} from "../proto/mod.ts";

/** A gRPC-shaped error for one report of a batch, classified like a unary call's error. */
export interface ReportError {
  code: grpc.status;
  details: string;
}

/**
 * ReportBatch calls each lane may have on the wire at once. A call's answer waits for the
 * coordinator's database commit, but the coordinator frees a task's slot (and claims the next
 * task for it) as soon as its report arrives: with one call at a time, a report made just after a
 * call left waited out that whole round trip before it could free its slot. With two, end to end
 * with 3 workers, 7 alternated pairs: +4 to +40% tasks/s (median +13%), never less.
 */
export const BATCHES_IN_FLIGHT = 2;

const codeOf: Record<string, grpc.status> = {
  STALE: grpc.status.FAILED_PRECONDITION,
  NOT_FOUND: grpc.status.NOT_FOUND,
  INVALID: grpc.status.INVALID_ARGUMENT,
  RETRY: grpc.status.UNAVAILABLE,
};

interface Pending {
  request: UpdateTaskStatusRequest;
  resolve: (response: UpdateTaskStatusResponse) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends status reports in batches: a report waits only while {@linkcode BATCHES_IN_FLIGHT} batches
 * of its lane (STARTED, or the rest) are on the wire (so an idle worker's report leaves at once),
 * then everything that gathered goes in the next ReportBatch call, up to `maxBatch`. Each report's promise settles with its own result: resolved when accepted,
 * rejected with a gRPC-shaped error ({@linkcode ReportError}) otherwise, so the caller's retry and
 * stale handling work as for a unary call. A coordinator without ReportBatch (UNIMPLEMENTED, e.g.
 * the seed's) switches the batcher to one UpdateTaskStatus call per report for good.
 */
export function createReportBatcher(options: {
  client: CoordinatorServiceClient;
  workerId: number;
  callTimeoutMs: number;
  maxBatch?: number;
}): { send(request: UpdateTaskStatusRequest): Promise<UpdateTaskStatusResponse>; close(): void } {
  const maxBatch = options.maxBatch ?? 500;
  let batchSupported = true;
  // ReportBatch over one stream (ReportStream), or unary ReportBatch for a coordinator without it.
  const client = options.client;
  const reportBatch = createStreamedCaller<ReportBatchRequest, ReportBatchResponse__Output>({
    open: () => client.ReportStream(),
    wrap: (callId, request) => ({ call_id: callId, request }),
    unary: (request, callOptions, callback) => client.ReportBatch(request, callOptions, callback),
  });

  const unary = (p: Pending) =>
    options.client.UpdateTaskStatus(p.request, { deadline: Date.now() + options.callTimeoutMs }, (error, response) => {
      if (error) p.reject(error);
      else p.resolve(response ?? { success: true });
    });

  // Two lanes, each with at most BATCHES_IN_FLIGHT calls on the wire: STARTED reports (a handler is
  // waiting for each answer) never queue behind the COMPLETE/FAILED/... reports of earlier tasks,
  // whose answers wait on a database commit.
  const lane = () => {
    const queue: Pending[] = [];
    let inFlight = 0;
    const flush = () => {
      if (inFlight >= BATCHES_IN_FLIGHT || queue.length === 0) return;
      if (!batchSupported) {
        for (const p of queue.splice(0)) unary(p);
        return;
      }
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      reportBatch(
        { worker_id: options.workerId, reports: batch.map((p) => p.request) },
        { deadline: Date.now() + options.callTimeoutMs },
        (error, response) => {
          inFlight--;
          if (error?.code === grpc.status.UNIMPLEMENTED) {
            batchSupported = false;
            for (const p of batch) unary(p);
          } else if (error) {
            for (const p of batch) p.reject(error);
          } else {
            batch.forEach((p, i) => {
              const result = response?.results?.[i];
              if (!result) return p.reject({ code: grpc.status.UNAVAILABLE, details: "no result for this report" } satisfies ReportError);
              if (result.code === "ACCEPTED") return p.resolve({ success: true });
              p.reject({ code: codeOf[result.code] ?? grpc.status.UNKNOWN, details: result.message } satisfies ReportError);
            });
          }
          flush();
        },
      );
    };
    return {
      push(p: Pending) {
        queue.push(p);
        // On the next tick, so reports made in the same turn (many finished tasks) share a call.
        if (inFlight < BATCHES_IN_FLIGHT) queueMicrotask(flush);
      },
    };
  };
  const starts = lane();
  const others = lane();

  return {
    close: () => reportBatch.close(),
    send: (request) =>
      new Promise<UpdateTaskStatusResponse>((resolve, reject) => {
        (request.status === "STARTED" ? starts : others).push({ request, resolve, reject });
      }),
  };
}
