/**
 * Wall-clock milliseconds with sub-millisecond resolution (`performance.timeOrigin + performance.now()`),
 * comparable between processes on one machine: the idle-latency figure reads it in the bench and in
 * the worker's handler, so both ends of an interval come from one clock.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
