import type { PrismaClient } from "../prisma/mod.ts";
import type { QueueDepthSamples } from "./queue_depth_samples.ts";

/** One bucket of {@linkcode taskThroughput}. */
export interface ThroughputBucket {
  /** The bucket's start, ISO 8601; buckets start at multiples of `bucketSeconds` since the epoch. */
  t: string;
  /** Tasks whose `completed_at` falls in the bucket. */
  completed: number;
  /** Tasks whose `failed_at` falls in the bucket: FAILED (not retryable) or DEAD. A retried attempt is not counted. */
  failed: number;
  /**
   * Tasks SCHEDULED at the last queue depth sample taken in the bucket; null when none was taken
   * (before this server process started, or while nobody asked for stats).
   */
  queued: number | null;
}

/** Options for {@linkcode taskThroughput}. */
export interface ThroughputOptions {
  /** How far back: 1..60 minutes. */
  minutes: number;
  /** Bucket width: 1..60 seconds. */
  bucketSeconds: number;
  /** Queue depth samples for `queued`; omit for `queued: null` everywhere. */
  samples?: QueueDepthSamples | undefined;
  /** The window's end; default the database's `now()` (tests pass a fixed time). */
  at?: Date | undefined;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot compute throughput as '${name}' must be an integer from ${min} to ${max}: current value is ${value}`);
  }
}

/**
 * Tasks completed and failed per `bucketSeconds` over the last `minutes`, oldest bucket first; the
 * last bucket holds `now()` and is still filling. ceil(minutes * 60 / bucketSeconds) buckets, every
 * one present (zeros included). Times are the database's clock.
 *
 * One statement, two range scans: `completed_at` through tasks_completed_idx, `failed_at` through
 * tasks_failed_idx; each reads only the window's rows, whatever the table's size.
 */
export async function taskThroughput(prisma: PrismaClient, options: ThroughputOptions): Promise<ThroughputBucket[]> {
  checkInteger("minutes", options.minutes, 1, 60);
  checkInteger("bucketSeconds", options.bucketSeconds, 1, 60);
  const width = options.bucketSeconds;
  const count = Math.ceil((options.minutes * 60) / width);
  const rows = await prisma.$queryRaw<{ kind: string; k: bigint; n: number }[]>`
    WITH w AS (SELECT floor(extract(epoch FROM COALESCE(${options.at ?? null}::timestamptz, now())) / ${width}::int)::bigint AS last_k)
    SELECT 'now' AS kind, last_k AS k, 0 AS n FROM w
    UNION ALL
    SELECT 'completed', floor(extract(epoch FROM completed_at) / ${width}::int)::bigint, count(*)::int
      FROM tasks
     WHERE completed_at >= to_timestamp(((SELECT last_k FROM w) - ${count}::int + 1) * ${width}::int)
       AND completed_at < to_timestamp(((SELECT last_k FROM w) + 1) * ${width}::int)
     GROUP BY 2
    UNION ALL
    SELECT 'failed', floor(extract(epoch FROM failed_at) / ${width}::int)::bigint, count(*)::int
      FROM tasks
     WHERE status IN ('FAILED', 'DEAD')
       AND failed_at >= to_timestamp(((SELECT last_k FROM w) - ${count}::int + 1) * ${width}::int)
       AND failed_at < to_timestamp(((SELECT last_k FROM w) + 1) * ${width}::int)
     GROUP BY 2`;
  const lastK = Number(rows.find((r) => r.kind === "now")?.k ?? 0n);
  const firstK = lastK - count + 1;
  const buckets: ThroughputBucket[] = [];
  for (let i = 0; i < count; i++) {
    const startMs = (firstK + i) * width * 1000;
    const inBucket = options.samples?.between(startMs, startMs + width * 1000) ?? [];
    buckets.push({ t: new Date(startMs).toISOString(), completed: 0, failed: 0, queued: inBucket[inBucket.length - 1]?.depth ?? null });
  }
  for (const row of rows) {
    const bucket = buckets[Number(row.k) - firstK];
    if (!bucket) continue;
    if (row.kind === "completed") bucket.completed = row.n;
    else if (row.kind === "failed") bucket.failed = row.n;
  }
  return buckets;
}
