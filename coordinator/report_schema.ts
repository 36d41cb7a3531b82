import { z } from "zod";

const uuid = z.uuid({ error: "task_id must be a UUID" });
const uint32 = z.number().int().min(0).max(4294967295);

/** A heartbeat as accepted from the wire (seed workers send only workerId and address). */
export const heartbeatSchema = z.object({
  workerId: uint32.min(1, { error: "workerId must be a positive uint32" }),
  address: z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, { error: "address must be host:port" }),
  capacity: uint32.max(10_000),
  handlers: z.array(z.string().min(1).max(200)).max(1000),
  in_flight: uint32,
  draining: z.boolean(),
  batch_dispatch: z.boolean(),
  holding: z.array(z.string().max(300)).max(100_000),
  reports_holding: z.boolean(),
});

const attemptKey = /^([0-9a-fA-F-]{36})\/(\d{1,9})$/;

/** Parses heartbeat `holding` entries ("<uuid>/<attempt>"); malformed ones are dropped. */
export function parseHolding(entries: string[]): { taskId: string; attempt: number }[] {
  return entries.flatMap((entry) => {
    const m = attemptKey.exec(entry);
    return m ? [{ taskId: m[1]!.toLowerCase(), attempt: Number(m[2]) }] : [];
  });
}

/** A status report as accepted from the wire. */
export const statusReportSchema = z.object({
  task_id: uuid,
  status: z.enum(["STARTED", "COMPLETE", "FAILED"], { error: "status must be STARTED, COMPLETE or FAILED" }),
  attempt: uint32,
  worker_id: uint32,
  result_json: z.string().max(1_000_000),
  error: z.string().max(10_000),
  not_retryable: z.boolean(),
  /** Unix ms the handler started (COMPLETE/FAILED of an attempt that sent no STARTED); 0 = not sent. */
  started_at_ms: z.preprocess(
    (v) => (v === undefined || v === null || v === "" ? 0 : Number(v)),
    z.number({ error: "started_at_ms must be a number" }).int().min(0).max(Number.MAX_SAFE_INTEGER),
  ),
});

/** A status report as {@linkcode statusReportSchema} returns it. */
export type StatusReport = z.infer<typeof statusReportSchema>;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
const STATUSES = new Set(["STARTED", "COMPLETE", "FAILED"]);
const isUint32 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 4294967295;

/**
 * {@linkcode statusReportSchema}'s verdict on `raw`, without zod's cost for a report every field of
 * which is plainly within the schema (every report a TaskMaster worker sends: zod's parse was ~3% of
 * the coordinator's CPU); the schema itself decides, and words the refusal, for anything else. The
 * plain check accepts nothing the schema refuses (its UUID pattern is zod's, less the nil and max UUIDs).
 */
export function parseStatusReport(raw: unknown): z.ZodSafeParseResult<StatusReport> {
  const r = raw as Record<string, unknown>;
  const startedAtMs = r["started_at_ms"];
  if (
    typeof r["task_id"] === "string" && UUID.test(r["task_id"]) &&
    typeof r["status"] === "string" && STATUSES.has(r["status"]) &&
    isUint32(r["attempt"]) && isUint32(r["worker_id"]) &&
    typeof r["result_json"] === "string" && r["result_json"].length <= 1_000_000 &&
    typeof r["error"] === "string" && r["error"].length <= 10_000 &&
    typeof r["not_retryable"] === "boolean" &&
    typeof startedAtMs === "number" && Number.isSafeInteger(startedAtMs) && startedAtMs >= 0
  ) {
    return {
      success: true,
      data: {
        task_id: r["task_id"],
        status: r["status"] as StatusReport["status"],
        attempt: r["attempt"],
        worker_id: r["worker_id"],
        result_json: r["result_json"],
        error: r["error"],
        not_retryable: r["not_retryable"],
        started_at_ms: startedAtMs,
      },
    };
  }
  return statusReportSchema.safeParse(raw);
}

/** A progress report as accepted from the wire. */
export const progressReportSchema = z.object({
  task_id: uuid,
  attempt: uint32,
  worker_id: uint32,
  progress: z.number().int().min(0).max(100, { error: "progress must be 0 to 100" }),
});

/** Joins zod's issues into one sentence for a gRPC INVALID_ARGUMENT. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}
