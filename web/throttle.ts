/** A function that runs at most once per interval (first call at once, the last of a burst at the end). */
export interface Throttled {
  (): void;
  /** Drops a pending trailing call. */
  cancel(): void;
}

/**
 * Throttles `fn` to once per `intervalMs`: a call runs at once when the last run is older than the
 * interval, otherwise one run is scheduled for the end of it (further calls meanwhile join that one).
 */
export function throttle(fn: () => void, intervalMs: number, now: () => number = Date.now): Throttled {
  let lastRun = -Infinity;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    timer = undefined;
    lastRun = now();
    fn();
  };
  const throttled = () => {
    if (timer !== undefined) return;
    const wait = lastRun + intervalMs - now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}
