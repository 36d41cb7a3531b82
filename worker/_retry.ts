// Private to worker/: the one retry-with-jitter helper every coordinator call goes through.

/** Options for {@linkcode retryWithJitter}. */
export interface RetryOptions {
  /** Upper bound of the first delay, ms. Default 100. */
  initialDelayMs?: number;
  /** Cap of any one delay, ms. Default 5000. */
  maxDelayMs?: number;
  /** Stop retrying once this much time passed since the first try, ms. Default 120000 (2 minutes). */
  maxElapsedMs?: number;
}

/** Everything {@linkcode retryWithJitter} needs besides the call. */
export interface RetryControl extends RetryOptions {
  /** Whether an error is worth another try. */
  shouldRetry(error: unknown): boolean;
  /** Called before each wait (for logging). */
  onRetry?(error: unknown, tryNumber: number, delayMs: number): void;
  /** Stops the retries: the pending wait ends and the last error is thrown. */
  signal?: AbortSignal;
  /** Random numbers in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Monotonic-enough clock, ms. Default `performance.now`. */
  now?: () => number;
}

/**
 * Calls `call` until it resolves, the error is not retryable, `maxElapsedMs` passed or `signal` aborted;
 * then throws the last error. Waits between tries with "full jitter": a random delay up to
 * `min(maxDelayMs, initialDelayMs * 2^(try-1))`.
 */
export async function retryWithJitter<T>(
  call: (tryNumber: number) => Promise<T>,
  control: RetryControl,
  /** The first try was already made (at `startedAt`, by `now`) and failed with `error`: go on from there. */
  firstTry?: { error: unknown; startedAt: number },
): Promise<T> {
  const initial = control.initialDelayMs ?? 100;
  const cap = control.maxDelayMs ?? 5000;
  const budget = control.maxElapsedMs ?? 120_000;
  if (!(initial > 0) || !(cap >= initial) || !(budget >= 0)) {
    throw new RangeError(
      `Cannot retry: expected 0 < initialDelayMs <= maxDelayMs and maxElapsedMs >= 0: current values are ${initial}, ${cap}, ${budget}`,
    );
  }
  const random = control.random ?? Math.random;
  const now = control.now ?? (() => performance.now());
  const started = firstTry?.startedAt ?? now();
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      if (firstTry && tryNumber === 1) throw firstTry.error;
      return await call(tryNumber);
    } catch (error) {
      if (!control.shouldRetry(error) || control.signal?.aborted) throw error;
      const elapsed = now() - started;
      const ceiling = Math.min(cap, initial * 2 ** Math.min(tryNumber - 1, 30));
      const delay = Math.min(Math.max(1, Math.round(random() * ceiling)), budget - elapsed);
      if (delay <= 0) throw error;
      control.onRetry?.(error, tryNumber, delay);
      if (!(await wait(delay, control.signal))) throw error;
    }
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
