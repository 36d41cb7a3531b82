// Recognising "the database is not there" among errors from Prisma (pg driver adapter) and pg.
// Private to server/.

const UNREACHABLE_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TlsConnectionError",
  "DatabaseDoesNotExist",
  "AuthenticationFailed",
  "DatabaseAccessDenied",
]);
const UNREACHABLE_PRISMA_CODES = new Set(["P1000", "P1001", "P1002", "P1003", "P1008", "P1010", "P1011", "P1017", "P2024"]);
const UNREACHABLE_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|Connection terminated|connection timeout|timeout exceeded when trying to connect|Can't reach database|the database system is (?:starting up|shutting down|in recovery mode)|terminating connection|Client has encountered a connection error|Connection ended/i;

function fieldsOf(error: unknown): Record<string, unknown> {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
}

/** True when `error` says PostgreSQL could not be reached (down, restarting, refusing, timing out). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const f = fieldsOf(e);
    if (f["name"] === "PrismaClientInitializationError") return true;
    if (typeof f["code"] === "string" && UNREACHABLE_PRISMA_CODES.has(f["code"])) return true;
    const meta = fieldsOf(f["meta"]);
    const cause = fieldsOf(fieldsOf(meta["driverAdapterError"])["cause"]);
    const kind = cause["kind"];
    if (typeof kind === "string" && UNREACHABLE_KINDS.has(kind)) return true;
    // PostgreSQL's own codes: class 08 (connection exception), 57P01..57P03 (shutdown, cannot connect now).
    const pgCode = typeof cause["originalCode"] === "string" ? cause["originalCode"] : typeof cause["code"] === "string" ? cause["code"] : f["code"];
    if (typeof pgCode === "string" && (/^08/.test(pgCode) || /^57P0[123]$/.test(pgCode))) return true;
    if (typeof f["message"] === "string" && UNREACHABLE_MESSAGE.test(f["message"])) return true;
    e = f["cause"];
  }
  return false;
}

/** One line describing a database error, without Prisma's multi-line invocation excerpt. */
export function describeDatabaseError(error: unknown): string {
  const f = fieldsOf(error);
  const cause = fieldsOf(fieldsOf(fieldsOf(f["meta"])["driverAdapterError"])["cause"]);
  if (cause["kind"] === "DatabaseNotReachable") {
    return `Can't reach database server at ${String(cause["host"])}:${String(cause["port"])}`;
  }
  const message = typeof f["message"] === "string" ? f["message"] : String(error);
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  // Prisma puts the useful sentence last, after an excerpt of the calling code.
  return lines[lines.length - 1] ?? "unknown error";
}
