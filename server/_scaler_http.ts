// Private to server/: the one JSON-over-HTTP client of the Docker and Kubernetes worker scalers,
// on node:http / node:https (a unix socket or TCP). Paths and bodies are built from constants and
// validated values only; nothing here runs a shell.
import http from "node:http";
import https from "node:https";

/** Where an API server listens. */
export interface ApiEndpoint {
  /** A unix socket (the Docker Engine's `/var/run/docker.sock`); else `url` is used. */
  socketPath?: string | undefined;
  /** `http://host:port` or `https://host:port` (no path). */
  url?: string | undefined;
  /** PEM CA bundle for https (the service account's ca.crt). */
  ca?: string | undefined;
  /** Called before each request for extra headers (a bearer token read fresh: tokens rotate). */
  headers?: (() => Record<string, string>) | undefined;
  /** Per-request timeout, ms. Default 10000. */
  timeoutMs?: number | undefined;
}

/** An API answer: status and parsed JSON body (or the raw text when it is not JSON). */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** An API server answered with an error status, or could not be reached. */
export class ScalerApiError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "ScalerApiError";
    this.status = status;
  }
}

/** Sends one request and resolves with the answer, whatever its status; rejects when unreachable. */
export function apiRequest(
  endpoint: ApiEndpoint,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string } = {},
): Promise<ApiResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: "application/json", ...endpoint.headers?.() };
  if (payload !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  const base = endpoint.socketPath ? undefined : new URL(endpoint.url ?? "http://localhost");
  const transport = base?.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        method,
        path,
        headers,
        timeout: endpoint.timeoutMs ?? 10_000,
        ...(endpoint.socketPath
          ? { socketPath: endpoint.socketPath, host: "localhost" }
          : { host: base!.hostname, port: base!.port || (base!.protocol === "https:" ? 443 : 80), ca: endpoint.ca }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text === "" ? null : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
        response.on("error", reject);
      },
    );
    const where = endpoint.socketPath ?? endpoint.url;
    request.on("timeout", () => request.destroy(new ScalerApiError(`${method} ${path} on ${where} timed out`)));
    request.on("error", (error) =>
      reject(error instanceof ScalerApiError ? error : new ScalerApiError(`${method} ${path} on ${where} failed: ${error.message}`)),
    );
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

/** Like {@linkcode apiRequest}, but a status outside `ok` (default 2xx) throws a {@linkcode ScalerApiError}. */
export async function apiCall(
  endpoint: ApiEndpoint,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; ok?: (status: number) => boolean } = {},
): Promise<unknown> {
  const response = await apiRequest(endpoint, method, path, options);
  const ok = options.ok ?? ((s: number) => s >= 200 && s < 300);
  if (!ok(response.status)) {
    const message =
      typeof response.body === "object" && response.body !== null && "message" in response.body
        ? String(response.body.message)
        : String(response.body);
    throw new ScalerApiError(`${method} ${path} answered ${response.status}: ${message}`, response.status);
  }
  return response.body;
}

/** The host part of a worker's "host:port" address ("[::1]:5" -> "::1"). */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const i = address.lastIndexOf(":");
  return i > 0 ? address.slice(0, i) : address;
}
