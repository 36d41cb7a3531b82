// Turning push callbacks into an async iterable for subscriptions. Private to server/.

/**
 * Subscribes at once (not on the first `next()`, so nothing pushed meanwhile is missed) and iterates
 * over the pushed values until `signal` aborts or the consumer stops. Keeps at most `maxBuffered`
 * undelivered values: beyond that the oldest are dropped, so a stuck client cannot grow memory for ever.
 * Call `dispose()` in a `finally` when the iterator may never be started.
 */
export function iterateEvents<T>(
  subscribe: (push: (value: T) => void) => () => void,
  signal: AbortSignal | undefined,
  maxBuffered = 10_000,
): AsyncGenerator<T, void, undefined> & { dispose(): void } {
  const buffer: T[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe((value) => {
    buffer.push(value);
    if (buffer.length > maxBuffered) buffer.shift();
    wake?.();
  });
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    signal?.removeEventListener("abort", onAbort);
    unsubscribe();
    wake?.();
  };
  const onAbort = () => dispose();
  signal?.addEventListener("abort", onAbort);
  async function* iterate(): AsyncGenerator<T, void, undefined> {
    try {
      while (!disposed) {
        if (buffer.length > 0) {
          yield buffer.shift() as T;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      dispose();
    }
  }
  return Object.assign(iterate(), { dispose });
}
