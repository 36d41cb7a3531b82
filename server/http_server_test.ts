import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient } from "../prisma/mod.ts";
import { freePort } from "../prisma/testing.ts";
import { createServer, type TaskMasterServer } from "./http_server.ts";
import { captureLogger, getJson, postJson, startTestServer, type TestServer } from "./testing.ts";

describe("the HTTP server", () => {
  let t: TestServer;
  let dist: string;
  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), "taskmaster-dist-"));
    t = await startTestServer({ webDistDir: dist });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dist, { recursive: true, force: true });
  });

  it("`GET /healthz` answers 200 when the database answers", async () => {
    expect(await getJson(`${t.url}/healthz`)).toMatchObject({ status: 200, body: { status: "ok" } });
  });

  it("`GET /` shows a placeholder linking to /api/stats while the dashboard is not built", async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('href="/api/stats"');
    expect(html).toContain("dashboard");
  });

  it("serves the built dashboard from web/dist, with index.html for client-side routes", async () => {
    await mkdir(join(dist, "assets"), { recursive: true });
    await writeFile(join(dist, "index.html"), "<!doctype html><div id=root></div>");
    await writeFile(join(dist, "assets", "app-123.js"), "console.log(1)");
    const index = await fetch(`${t.url}/`);
    expect(await index.text()).toContain("id=root");
    const asset = await fetch(`${t.url}/assets/app-123.js`);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await (await fetch(`${t.url}/tasks/abc`)).text()).toContain("id=root");
    expect((await fetch(`${t.url}/assets/missing.js`)).status).toBe(404);
    // A path escaping the folder never reaches outside it (here: the client-side route fallback).
    expect(await (await fetch(`${t.url}/..%2f..%2fetc%2fpasswd`)).text()).toContain("id=root");
    expect(await getJson(`${t.url}/api/unknown`)).toMatchObject({ status: 404, body: { error: "Not found: GET /api/unknown" } });
  });

  it("answers CORS preflights from the Vite dev server", async () => {
    const response = await fetch(`${t.url}/trpc/task.list`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const other = await fetch(`${t.url}/api/stats`, { headers: { origin: "http://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves tRPC queries and mutations at /trpc", async () => {
    const scheduled = await postJson(`${t.url}/trpc/task.schedule`, { command: "via-http" });
    expect(scheduled.status).toBe(200);
    const id = (scheduled.body as { result: { data: { task: { id: string } } } }).result.data.task.id;
    const got = await getJson(`${t.url}/trpc/task.get?input=${encodeURIComponent(JSON.stringify({ id }))}`);
    expect(got.status).toBe(200);
    expect((got.body as { result: { data: { command: string } } }).result.data.command).toBe("via-http");
  });

  it("answers tRPC input errors as BAD_REQUEST (400) with zod's message", async () => {
    const response = await postJson(`${t.url}/trpc/task.scheduleBatch`, { command: "x", count: 0 });
    expect(response.status).toBe(400);
    const error = (response.body as { error: { message: string; data: { code: string; zodIssues: { path: string }[] } } }).error;
    expect(error.data.code).toBe("BAD_REQUEST");
    expect(error.data.zodIssues.map((i) => i.path)).toEqual(["count"]);
    expect(error.message).toContain("count");
  });

  it("streams tRPC subscriptions as SSE", async () => {
    t.server.hub.record("info", "over http");
    const controller = new AbortController();
    const response = await fetch(`${t.url}/trpc/events.onActivity?input=${encodeURIComponent("{}")}`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    let text = "";
    while (!text.includes("over http")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toMatch(/id: [0-9a-f]{8}:\d+/);
    controller.abort();
  });
});

describe("the HTTP server without a database", () => {
  let server: TaskMasterServer;
  const prisma = createPrismaClient("postgresql://postgres:postgres@127.0.0.1:9/none", { poolSize: 1 });
  beforeAll(async () => {
    const unreachable = `postgresql://postgres:postgres@127.0.0.1:${await freePort()}/none`;
    server = await createServer({ prisma, databaseUrl: unreachable, log: captureLogger().log, port: 0 });
  });
  afterAll(async () => {
    await server?.close(100);
    await prisma.$disconnect();
  });

  it("answers 503 'Database unavailable: ...' instead of hanging or claiming success", async () => {
    const scheduled = await postJson(`${server.url}/schedule`, { command: "x", scheduled_at: "2026-01-01T00:00:00Z" });
    expect(scheduled.status).toBe(503);
    expect((scheduled.body as { error: string }).error).toMatch(/^Database unavailable: /);
    expect((await getJson(`${server.url}/api/stats`)).status).toBe(503);
    expect((await getJson(`${server.url}/status?task_id=f47ac10b-58cc-4372-a567-0e02b2c3d479`)).status).toBe(503);
    expect((await getJson(`${server.url}/healthz`)).status).toBe(503);
  });

  it("answers 503 for cancel, retry and the guarantee figures too", async () => {
    const id = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
    for (const response of [
      await postJson(`${server.url}/api/tasks/${id}/cancel`, {}),
      await postJson(`${server.url}/api/tasks/${id}/retry`, {}),
      await postJson(`${server.url}/api/tasks/retry`, { status: "DEAD" }),
      await getJson(`${server.url}/api/guarantees`),
      await getJson(`${server.url}/trpc/stats.guarantees`),
    ]) {
      expect(response.status).toBe(503);
      expect(JSON.stringify(response.body)).toMatch(/Database unavailable: /);
    }
    expect((await postJson(`${server.url}/trpc/task.cancel`, { id })).status).toBe(503);
  });

  it("still answers a client's mistakes with 400 when the database is down", async () => {
    expect(await postJson(`${server.url}/schedule`, {})).toMatchObject({ status: 400, body: { error: "command and scheduled_at are required" } });
  });

  it("answers tRPC calls with SERVICE_UNAVAILABLE (503)", async () => {
    const response = await getJson(`${server.url}/trpc/stats.get`);
    expect(response.status).toBe(503);
    expect((response.body as { error: { message: string } }).error.message).toMatch(/^Database unavailable: /);
  });
});
