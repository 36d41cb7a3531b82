import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { createSqlClient, type PrismaClient, type SqlClient } from "../prisma/mod.ts";
import type { Logger } from "../shared/mod.ts";
import { describeDatabaseError, isDatabaseUnavailable } from "./_database_errors.ts";
import { HttpError, matchRoute, readJsonBody, sendError } from "./_http.ts";
import { appRouter } from "./app_router.ts";
import { createEventHub, type EventHub } from "./event_hub.ts";
import { workerExists } from "./mark_worker_offline.ts";
import { createOpsRoutes } from "./ops_routes.ts";
import { createRestRoutes, type RestRoute } from "./rest_routes.ts";
import { serveStatic } from "./static_files.ts";
import { createContext, type ServerContext } from "./trpc.ts";
import { createDisabledWorkerScaler, type WorkerScaler } from "./worker_scaler.ts";

/** The Vite dev server's origins, allowed by CORS by default. */
export const DEV_ORIGINS: readonly string[] = ["http://localhost:5173", "http://127.0.0.1:5173"];

/** Options for {@linkcode createServer}. */
export interface ServerOptions {
  prisma: PrismaClient;
  /** Where the event hub LISTENs, and scheduling's `pg` pool connects (the database `prisma` uses). */
  databaseUrl: string;
  /** Raw SQL for scheduling; default: a pool of its own on `databaseUrl` (closed with the server). */
  sql?: SqlClient;
  /** Connections of that own pool. Default 4. */
  sqlPoolSize?: number;
  log: Logger;
  /** Port to listen on; 0 picks a free one. Default 8081. */
  port?: number;
  /** Interface to bind. Default: all. */
  host?: string;
  /** Starts and stops workers. Default: none (scale answers 501, kill of a known worker 409). */
  scaler?: WorkerScaler;
  /** HEARTBEAT_INTERVAL_MS * HEARTBEAT_MISSES. Default 15000. */
  onlineWindowMs?: number;
  /** HEARTBEAT_INTERVAL_MS: how often `events.onWorkers` re-reads while a worker is online. Default onlineWindowMs / 3. */
  heartbeatIntervalMs?: number;
  /** Largest request body accepted. Default 1048576 (1 MiB). */
  maxBodyBytes?: number;
  /** The built dashboard (`web/dist`); null or absent: serve the placeholder page. */
  webDistDir?: string | null;
  /** Browser origins allowed by CORS. Default {@linkcode DEV_ORIGINS}. */
  corsOrigins?: readonly string[];
  /** Milliseconds between keep-alive comments on `/api/logs/stream`. Default 15000. */
  sseKeepAliveMs?: number;
  /** How often `events.onStats` and `events.onWorkers` may re-query, at most. Default 500. */
  statsThrottleMs?: number;
  /** Use this hub instead of creating one (the server then does not close it). */
  hub?: EventHub;
}

/** A listening server. */
export interface TaskMasterServer {
  /** The port it listens on (the real one when `port` was 0). */
  port: number;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  hub: EventHub;
  /** The tRPC context requests get (for `createCaller` in tests). */
  context: ServerContext;
  /** Stops accepting, ends open streams, waits for requests in flight (up to `graceMs`, default 2000). */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts the HTTP server: tRPC at /trpc (queries, mutations, SSE subscriptions), the seed's REST API,
 * /healthz, /metrics and the dashboard, on one node:http server. Resolves once it listens; it does
 * not wait for the database (requests answer 503 while it is down).
 */
export async function createServer(options: ServerOptions): Promise<TaskMasterServer> {
  const log = options.log;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const onlineWindowMs = options.onlineWindowMs ?? 15_000;
  const corsOrigins = new Set(options.corsOrigins ?? DEV_ORIGINS);
  const ownHub = !options.hub;
  const ownSql = !options.sql;
  const sql = options.sql ?? createSqlClient(options.databaseUrl, { poolSize: options.sqlPoolSize ?? 4 });
  const hub = options.hub ?? createEventHub({ databaseUrl: options.databaseUrl, log: log.child({ component: "event_hub" }) });
  const scaler = options.scaler ?? createDisabledWorkerScaler((id) => workerExists(options.prisma, id));
  const context = createContext({
    prisma: options.prisma,
    sql,
    hub,
    scaler,
    onlineWindowMs,
    log,
    ...(options.statsThrottleMs !== undefined ? { statsThrottleMs: options.statsThrottleMs } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
  });
  const streams = new Set<ServerResponse>();
  const routes = new Map<string, RestRoute>([
    ...createRestRoutes({
      prisma: options.prisma,
      sql,
      hub,
      scaler,
      onlineWindowMs,
      log,
      sseKeepAliveMs: options.sseKeepAliveMs ?? 15_000,
      trackStream: (res) => {
        streams.add(res);
        return () => void streams.delete(res);
      },
    }),
    ...createOpsRoutes({ prisma: options.prisma, scaler, onlineWindowMs }),
  ]);

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: maxBodyBytes,
    createContext: () => context,
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") log.error("tRPC procedure failed", { path, error: error.message });
    },
  });

  const applyCors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (!origin || !corsOrigins.has(origin)) return false;
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("vary", "Origin");
    res.setHeader("access-control-allow-credentials", "true");
    return true;
  };

  const handleRest = async (
    route: RestRoute,
    params: Record<string, string>,
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ) => {
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const handler = route.methods[method as "GET" | "POST"];
    const allowed = Object.keys(route.methods).join(", ");
    if (!handler) {
      req.resume();
      sendError(res, 405, `Method ${req.method} not allowed on ${path}; use ${allowed}`, { allow: allowed });
      return;
    }
    try {
      await handler({ req, res, url, params, body: () => readJsonBody(req, maxBodyBytes) });
    } catch (error) {
      if (res.headersSent) {
        log.error("request failed after the answer started", { path, error: String(error) });
        res.destroy();
      } else if (error instanceof HttpError) {
        sendError(res, error.status, error.message, error.headers);
      } else if (isDatabaseUnavailable(error)) {
        const message = describeDatabaseError(error);
        log.warn("request failed: database unavailable", { path, error: message });
        sendError(res, 503, `Database unavailable: ${message}`, { "retry-after": "5" });
      } else {
        const message = describeDatabaseError(error);
        log.error("request failed", { path, method, error: message });
        sendError(res, 500, `${route.failurePrefix}${message}`);
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      sendError(res, 400, "Malformed request URL");
      return;
    }
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const cors = applyCors(req, res);
    if (req.method === "OPTIONS") {
      if (cors) {
        res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
        res.setHeader(
          "access-control-allow-headers",
          req.headers["access-control-request-headers"] ?? "content-type, trpc-accept, last-event-id, authorization",
        );
        res.setHeader("access-control-max-age", "600");
      }
      res.writeHead(204).end();
      return;
    }
    if (path === "/trpc" || path.startsWith("/trpc/")) {
      trpc(req, res);
      return;
    }
    const match = matchRoute(routes, path);
    if (match) {
      await handleRest(match.route, match.params, path, req, res, url);
      return;
    }
    if (!path.startsWith("/api/") && (await serveStatic(req, res, url.pathname, options.webDistDir ?? null))) return;
    req.resume();
    sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
  };

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error("unhandled request error", { url: req.url, error: String(error) });
      if (!res.headersSent) sendError(res, 500, "Internal error");
      else res.destroy();
    });
  });
  server.on("clientError", (error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    log.debug("client error", { error: error.message });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8081, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    hub,
    context,
    close: (graceMs = 2000) =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const res of streams) res.end();
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        // tRPC subscriptions never end by themselves: their connections go when the grace is over.
        await closed;
        clearTimeout(timer);
        if (ownHub) await hub.close();
        if (ownSql) await sql.end();
      })()),
  };
}
