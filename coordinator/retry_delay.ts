/** Options for {@linkcode retryDelayMs}. */
export interface RetryDelayOptions {
  /** Delay before the second attempt, before jitter. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
}

/**
 * Exponential backoff with jitter for retrying a failed task: `min(maxMs, baseMs * 2^(attempt-1))`,
 * then a random point in its upper half, so retries of many tasks spread out. `attempt` is the
 * attempt that failed (1-based); `random` returns [0, 1).
 */
export function retryDelayMs(attempt: number, options: RetryDelayOptions, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`Cannot compute a retry delay as 'attempt' must be a positive integer: current value is ${attempt}`);
  }
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
