import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** Shown at `/` while `web/dist` has not been built. */
export const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TaskMaster</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body><h1>TaskMaster server</h1>
<p>The API is running. The dashboard is not built yet: the dashboard work builds it into <code>web/dist</code>
(<code>npm run build</code> in the web folder, or <code>npx vite build web</code>), and this server then serves it here.</p>
<ul><li><a href="/api/stats">/api/stats</a> (task and worker counts)</li>
<li><a href="/api/tasks">/api/tasks</a>, <a href="/api/workers">/api/workers</a>, <a href="/api/logs">/api/logs</a></li>
<li><a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a></li></ul></body></html>
`;

async function fileAt(path: string): Promise<{ size: number } | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? { size: s.size } : null;
  } catch {
    return null;
  }
}

function send(req: IncomingMessage, res: ServerResponse, path: string, size: number, immutable: boolean): void {
  res.writeHead(200, {
    "content-type": TYPES[extname(path).toLowerCase()] ?? "application/octet-stream",
    "content-length": size,
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") res.end();
  else createReadStream(path).pipe(res);
}

/**
 * Serves the built dashboard from `distDir` for GET/HEAD: the file when it exists (hashed assets
 * cached for ever), `index.html` for other extension-less paths (client-side routes), and the
 * placeholder page at `/` when nothing is built. Returns false when it did not answer.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, distDir: string | null): Promise<boolean> {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const index = distDir ? join(distDir, "index.html") : null;
  const indexFile = index ? await fileAt(index) : null;
  if (distDir && indexFile && index) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return false;
    }
    const relative = normalize(decoded).replace(/^([/\\])+/, "");
    const path = join(distDir, relative);
    if (path !== distDir && !path.startsWith(distDir.endsWith(sep) ? distDir : distDir + sep)) return false;
    const file = relative ? await fileAt(path) : null;
    if (file) {
      send(req, res, path, file.size, relative.startsWith(`assets${sep}`));
      return true;
    }
    if (extname(relative) === "") {
      send(req, res, index, indexFile.size, false);
      return true;
    }
    return false;
  }
  if (pathname === "/" || pathname === "/index.html") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(PLACEHOLDER_HTML) });
    res.end(req.method === "HEAD" ? undefined : PLACEHOLDER_HTML);
    return true;
  }
  return false;
}
