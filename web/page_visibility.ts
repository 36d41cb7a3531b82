import { useEffect, useState } from "react";

/** How long a tab may stay hidden before its live subscriptions pause (saves connections and work). */
export const PAUSE_HIDDEN_AFTER_MS = 30_000;

/**
 * False once the page has been hidden for `pauseAfterMs` (a background tab), true again as soon as
 * it is shown. Browsers allow ~6 connections per host over HTTP/1.1 and each live subscription holds
 * one, so background tabs let theirs go.
 */
export function usePageActive(pauseAfterMs: number = PAUSE_HIDDEN_AFTER_MS): boolean {
  const [active, setActive] = useState(true);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => {
      clearTimeout(timer);
      if (document.visibilityState === "hidden") timer = setTimeout(() => setActive(false), pauseAfterMs);
      else setActive(true);
    };
    update();
    document.addEventListener("visibilitychange", update);
    return () => {
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", update);
    };
  }, [pauseAfterMs]);
  return active;
}
