// Formatting of numbers, times and ids as the dashboard shows them. Pure: the clock is passed in.

const counts = new Intl.NumberFormat("en-US");

/** `12345` → `"12,345"`. */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** A UUID's first 8 characters, as the activity log names tasks. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** `850` → `"850 ms"`, `1234` → `"1.2 s"`, `65000` → `"1 min 5 s"`, `7_380_000` → `"2 h 3 min"`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How long ago `iso` was at `now`: `"just now"`, `"4 s ago"`, `"3 min ago"`. */
export function formatAge(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1000) return "just now";
  return `${formatDuration(ms)} ago`;
}

/** Local wall-clock time `HH:MM:SS` of an ISO 8601 timestamp (or epoch ms). */
export function formatClock(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return "–";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Local date and time `YYYY-MM-DD HH:MM:SS` of an ISO 8601 timestamp. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "–";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${formatClock(iso)}`;
}
