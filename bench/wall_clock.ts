/**
 * `performance.timeOrigin + performance.now()` is sub-millisecond but its origin can be off the system
 * clock by several milliseconds (measured: 2 to 6 ms, different in every process), while `Date.now()`
 * is the system clock (the one PostgreSQL's now() reads too) cut to whole milliseconds. The offset is
 * found by sampling both for a few milliseconds: `Date.now() − highRes` is `floor(t) − (t' + e)`, whose
 * largest value over many samples is `−e` (Date.now() is read first, so a preemption between the two
 * reads can only make a sample smaller, never move the maximum).
 */
function calibrate(): number {
  let offset = Number.NEGATIVE_INFINITY;
  const until = performance.now() + 5;
  while (performance.now() < until) {
    const system = Date.now();
    offset = Math.max(offset, system - (performance.timeOrigin + performance.now()));
  }
  return offset;
}

const offset = calibrate();

/**
 * Wall-clock milliseconds with sub-millisecond resolution, on the system clock (calibrated at load
 * against `Date.now()`): comparable between processes on one machine and with PostgreSQL's
 * timestamps. The idle-latency figure reads it in the bench and in the worker's handler.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now() + offset;
}
