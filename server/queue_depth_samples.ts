/** How far back {@linkcode QueueDepthSamples} keeps samples: the longest `stats.throughput` window. */
export const QUEUE_DEPTH_KEEP_MS = 60 * 60_000;

/** One reading of the queue depth. */
export interface QueueDepthSample {
  /** Epoch milliseconds (this server's clock) when it was read. */
  atMs: number;
  /** Tasks SCHEDULED (due or not) at that moment. */
  depth: number;
}

/**
 * Queue depth readings the server takes each time it computes the task stats (`stats.get`,
 * `events.onStats`), kept in memory for an hour at most one per second (the latest of a second
 * wins). They exist only since this server process started, and only for moments when somebody
 * asked for stats.
 */
export interface QueueDepthSamples {
  /** Records `depth` as read at `atMs`. */
  record(atMs: number, depth: number): void;
  /** The samples with `fromMs <= atMs < toMs`, oldest first. */
  between(fromMs: number, toMs: number): QueueDepthSample[];
}

/** Creates an empty sample ring. */
export function createQueueDepthSamples(): QueueDepthSamples {
  const samples: QueueDepthSample[] = [];
  return {
    record: (atMs, depth) => {
      const last = samples[samples.length - 1];
      if (last && Math.floor(last.atMs / 1000) === Math.floor(atMs / 1000)) {
        samples[samples.length - 1] = { atMs: Math.max(atMs, last.atMs), depth };
      } else if (!last || atMs > last.atMs) {
        samples.push({ atMs, depth });
      }
      const oldest = atMs - QUEUE_DEPTH_KEEP_MS;
      let drop = 0;
      while (drop < samples.length && (samples[drop]?.atMs ?? Infinity) < oldest) drop++;
      if (drop > 0) samples.splice(0, drop);
    },
    between: (fromMs, toMs) => samples.filter((s) => s.atMs >= fromMs && s.atMs < toMs),
  };
}

/** One ring per database client: every router of one server records into and reads the same one. */
const rings = new WeakMap<object, QueueDepthSamples>();

/** The server's ring for `owner` (its PrismaClient), created on first use. */
export function queueDepthSamplesFor(owner: object): QueueDepthSamples {
  let ring = rings.get(owner);
  if (!ring) {
    ring = createQueueDepthSamples();
    rings.set(owner, ring);
  }
  return ring;
}
