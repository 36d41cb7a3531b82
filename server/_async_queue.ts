// Turning push callbacks into an async iterable for subscriptions. Private to server/.

/**
 * Iterates over values pushed by `subscribe` until `signal` aborts or the consumer stops. Keeps at most
 * `maxBuffered` undelivered values: beyond that the oldest are dropped (a consumer that slow is shown
 * a `resync`-style event by the caller if it matters) so a stuck client cannot grow memory for ever.
 */
export async function* iterateEvents<T>(
  subscribe: (push: (value: T) => void) => () => void,
  signal: AbortSignal | undefined,
  maxBuffered = 10_000,
): AsyncGenerator<T, void, undefined> {
  const buffer: T[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = subscribe((value) => {
    buffer.push(value);
    if (buffer.length > maxBuffered) buffer.shift();
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    while (!signal?.aborted) {
      const next = buffer.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}
