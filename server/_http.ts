// Small HTTP helpers for the REST shims: JSON bodies with a size limit, JSON answers, client errors.
// Private to server/.
import type { IncomingMessage, ServerResponse } from "node:http";

/** A client mistake (4xx) or a known condition (503) answered as `{"error": message}`. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/** Sends `{"error": message}`. */
export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/**
 * Reads the request body as JSON, refusing more than `limit` bytes (413, checked against
 * Content-Length first and while reading). An empty body reads as `{}` (what the seed's express.json
 * gave). Malformed JSON is a 400 naming the parser's complaint.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () => new HttpError(413, `Request body too large: limit is ${limit} bytes`, { connection: "close" });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `Malformed JSON body: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The body as a plain object, or a 400 saying what it was instead. */
export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    const what = body === null ? "null" : Array.isArray(body) ? "an array" : `a ${typeof body}`;
    throw new HttpError(400, `Request body must be a JSON object, got ${what}`);
  }
  return body as Record<string, unknown>;
}

/** `field` of `body` when it is a string or absent (undefined, null); else a 400 naming the field. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new HttpError(400, `${field} must be a string, got ${jsonType(value)}`);
  return value;
}

/** `field` of `body` when it is a number or absent; else a 400 with `message`. */
export function optionalNumber(body: Record<string, unknown>, field: string, message: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new HttpError(400, message);
  return value;
}

/** The JSON type of a value, for messages ("a number", "an array"). */
export function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** Loose UUID text (any version), what PostgreSQL's uuid type accepts in canonical form. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The route for `path`: an exact key of `routes`, else a key with `:name` segments
 * (`/api/tasks/:id/cancel`), whose matched segments come back as `params` (as sent, not decoded).
 */
export function matchRoute<R>(routes: ReadonlyMap<string, R>, path: string): { route: R; params: Record<string, string> } | undefined {
  const exact = routes.get(path);
  if (exact) return { route: exact, params: {} };
  const segments = path.split("/");
  for (const [pattern, route] of routes) {
    if (!pattern.includes("/:")) continue;
    const parts = pattern.split("/");
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      const segment = segments[i] ?? "";
      if (!part.startsWith(":")) return part === segment;
      params[part.slice(1)] = segment;
      return segment !== "";
    });
    if (matches) return { route, params };
  }
  return undefined;
}
