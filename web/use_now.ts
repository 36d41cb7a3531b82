import { useEffect, useState } from "react";

/** The browser's clock, re-read every `intervalMs` while `enabled` (for ages and running durations). */
export function useNow(intervalMs: number = 1000, enabled: boolean = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, enabled]);
  return now;
}
