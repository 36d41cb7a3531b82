// Sharing one run of an expensive query among concurrent callers. Private to server/.

/**
 * Wraps `load` so that callers asking while a run is in flight share it, provided that run started
 * after the caller's `notBefore` (a `performance.now()` reading, e.g. when the change that made the
 * caller ask arrived): nobody gets an answer older than what they are asking about. Errors are
 * shared too; once a run settles, the next call starts a new one.
 */
export function coalesce<T>(load: () => Promise<T>): (notBefore: number) => Promise<T> {
  let inFlight: { startedAt: number; promise: Promise<T> } | undefined;
  return (notBefore) => {
    if (inFlight && inFlight.startedAt > notBefore) return inFlight.promise;
    const run = { startedAt: performance.now(), promise: load() };
    inFlight = run;
    const settle = () => {
      if (inFlight === run) inFlight = undefined;
    };
    run.promise.then(settle, settle);
    return run.promise;
  };
}
