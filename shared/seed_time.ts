function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Formats a time the way the seed's REST API does: `YYYY-MM-DD HH:MM:SS` in UTC, or `""` when unset.
 *
 * @example formatSeedTime(new Date("2026-01-23T15:30:00Z")) // "2026-01-23 15:30:00"
 */
export function formatSeedTime(time: Date | null | undefined): string {
  if (!time) return "";
  return `${time.getUTCFullYear()}-${pad(time.getUTCMonth() + 1)}-${pad(time.getUTCDate())} ${pad(
    time.getUTCHours(),
  )}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())}`;
}

/** Seconds since the Unix epoch, as the seed's `POST /schedule` answers `scheduled_at`. */
export function unixSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parses an ISO 8601 timestamp strictly: the shape must be ISO 8601 and the date must exist
 * (`2026-02-30` is rejected, where `Date` would roll it over to March). A time without an offset is UTC.
 * Returns null when the text is not such a timestamp.
 */
export function parseIsoTimestamp(text: string): Date | null {
  const trimmed = text.trim();
  if (!ISO_8601.test(trimmed)) return null;
  const [datePart = ""] = trimmed.split(/[T ]/i);
  const [y, m, d] = datePart.split("-").map(Number) as [number, number, number];
  const hasOffset = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(trimmed.slice(10));
  const normalised = trimmed.length === 10 ? `${trimmed}T00:00:00Z` : hasOffset ? trimmed.replace(" ", "T") : `${trimmed.replace(" ", "T")}Z`;
  const time = new Date(normalised);
  if (Number.isNaN(time.getTime())) return null;
  const probe = new Date(Date.UTC(y, m - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) return null;
  return time;
}
