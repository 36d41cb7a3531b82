// The activity log's list: entries from `events.onActivity`, newest first, each once, the last 250.
import type { ActivityEntry } from "../server/mod.ts";

/** Entries kept on screen (the server's ACTIVITY_LOG_SIZE, the seed's MAX_LOG_EVENTS). */
export const ACTIVITY_LINES_KEPT = 250;

/** An activity entry with the tracked event id that makes it unique across server restarts. */
export interface ActivityLine extends ActivityEntry {
  /** "<server epoch>:<n>". */
  key: string;
}

/**
 * Puts `incoming` (oldest first, as the subscription delivers them) in front of `lines` (newest
 * first), skipping entries already shown, and keeps the newest `limit`. Returns `lines` itself when
 * nothing was new.
 */
export function prependActivity(
  lines: readonly ActivityLine[],
  incoming: readonly ActivityLine[],
  limit: number = ACTIVITY_LINES_KEPT,
): readonly ActivityLine[] {
  const seen = new Set(lines.map((l) => l.key));
  const fresh: ActivityLine[] = [];
  for (const line of incoming) {
    if (seen.has(line.key)) continue;
    seen.add(line.key);
    fresh.push(line);
  }
  if (fresh.length === 0) return lines;
  fresh.reverse();
  return [...fresh, ...lines].slice(0, limit);
}
