import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtinHandlers, SHELL_STDOUT_LIMIT } from "./builtin_handlers.ts";
import { isNonRetryable, NonRetryableError, type TaskContext, type TaskHandler } from "./handler.ts";
import { createTestLogger } from "./testing.ts";

/**
 * A built-in handler, its `run` as the pool sees it: a result returned at once (`noop`) or a promise
 * (the rest), here always as a promise, so each test reads the outcome the same way.
 */
function builtin(name: string, shellAllowlist: string[] = []): { name: string; run(ctx: TaskContext): Promise<unknown> } {
  const { handlers } = builtinHandlers({ taskProcessTimeMs: 50, shellAllowlist });
  const handler: TaskHandler | undefined = handlers.find((h) => h.name === name);
  if (!handler) throw new Error(`no built-in handler ${name}`);
  return { name: handler.name, run: async (ctx) => await handler.run(ctx) };
}

function context(payload: unknown, signal: AbortSignal = new AbortController().signal) {
  const progress: number[] = [];
  const ctx: TaskContext = {
    taskId: "t1",
    attempt: 1,
    command: "test",
    payload,
    signal,
    progress: (p) => progress.push(p),
    log: createTestLogger(),
  };
  return { ctx, progress };
}

describe("builtinHandlers()", () => {
  it("offers sleep, noop and http, and shell only when the allow-list names a program", () => {
    expect(builtinHandlers({ taskProcessTimeMs: 0, shellAllowlist: [] }).handlers.map((h) => h.name)).toEqual([
      "sleep",
      "noop",
      "http",
    ]);
    expect(builtinHandlers({ taskProcessTimeMs: 0, shellAllowlist: ["echo"] }).handlers.map((h) => h.name)).toContain("shell");
  });

  it("refuses a negative taskProcessTimeMs", () => {
    expect(() => builtinHandlers({ taskProcessTimeMs: -1, shellAllowlist: [] })).toThrow(RangeError);
  });
});

describe("fallback (simulated work)", () => {
  it("takes taskProcessTimeMs in 10 progress steps and returns {simulated_ms}", async () => {
    const { fallback } = builtinHandlers({ taskProcessTimeMs: 50, shellAllowlist: [] });
    const { ctx, progress } = context(undefined);
    await expect(fallback.run(ctx)).resolves.toEqual({ simulated_ms: 50 });
    expect(progress).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it("stops when its signal aborts", async () => {
    const { fallback } = builtinHandlers({ taskProcessTimeMs: 60_000, shellAllowlist: [] });
    const controller = new AbortController();
    const run = fallback.run(context(undefined, controller.signal).ctx);
    controller.abort(new Error("stop"));
    await expect(run).rejects.toThrow();
  });
});

describe("sleep", () => {
  it("waits {ms} and returns {slept_ms}", async () => {
    await expect(builtin("sleep").run(context({ ms: 5 }).ctx)).resolves.toEqual({ slept_ms: 5 });
  });

  it("fails without retry on a payload out of range, naming the field", async () => {
    const run = builtin("sleep").run(context({ ms: 3_600_001 }).ctx);
    await expect(run).rejects.toBeInstanceOf(NonRetryableError);
    await expect(run).rejects.toThrow("sleep: invalid payload: ms: expected an integer from 0 to 3600000");
    await expect(builtin("sleep").run(context(undefined).ctx)).rejects.toThrow(/sleep: invalid payload/);
  });

  it("stops when its signal aborts", async () => {
    const controller = new AbortController();
    const run = builtin("sleep").run(context({ ms: 60_000 }, controller.signal).ctx);
    controller.abort();
    await expect(run).rejects.toThrow();
  });
});

describe("noop", () => {
  it("returns at once with no result, without a promise (the pool's cheapest path)", () => {
    const noop = builtinHandlers({ taskProcessTimeMs: 50, shellAllowlist: [] }).handlers.find((h) => h.name === "noop")!;
    const result = noop.run(context(undefined).ctx);
    expect(result).toBeUndefined();
    expect(result instanceof Promise).toBe(false);
  });
});

describe("http", () => {
  let server: Server;
  let base: string;
  const seen: { method: string; body: string; contentType: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        seen.push({ method: req.method ?? "", body, contentType: req.headers["content-type"] });
        const status = Number(new URL(req.url ?? "/", "http://x").searchParams.get("status") ?? "200");
        if (req.url?.startsWith("/slow")) return; // never answers
        res.writeHead(status, { "content-type": "text/plain" });
        res.end("x".repeat(10_000));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("GETs the url and returns {status, ok}", async () => {
    await expect(builtin("http").run(context({ url: `${base}/ok` }).ctx)).resolves.toEqual({ status: 200, ok: true });
    expect(seen.at(-1)?.method).toBe("GET");
  });

  it("sends the method and a JSON body", async () => {
    const payload = { url: `${base}/post?status=201`, method: "post", body: { a: 1 } };
    await expect(builtin("http").run(context(payload).ctx)).resolves.toEqual({ status: 201, ok: true });
    expect(seen.at(-1)).toEqual({ method: "POST", body: '{"a":1}', contentType: "application/json" });
  });

  it("fails without retry on a 4xx other than 429", async () => {
    const run = builtin("http").run(context({ url: `${base}/missing?status=404` }).ctx);
    await expect(run).rejects.toBeInstanceOf(NonRetryableError);
    await expect(run).rejects.toThrow(/answered 404/);
  });

  it("fails retryably on a 5xx and on 429", async () => {
    for (const status of [500, 503, 429]) {
      const error: unknown = await builtin("http").run(context({ url: `${base}/x?status=${status}` }).ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(new RegExp(`answered ${status}`));
      expect(isNonRetryable(error)).toBe(false);
    }
  });

  it("fails retryably after timeout_ms when the server does not answer", async () => {
    const run = builtin("http").run(context({ url: `${base}/slow`, timeout_ms: 100 }).ctx);
    await expect(run).rejects.toThrow(`http: GET ${base}/slow timed out after 100 ms`);
    await expect(run).rejects.not.toBeInstanceOf(NonRetryableError);
  });

  it("stops when the task's signal aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("task aborted");
    const run = builtin("http").run(context({ url: `${base}/slow` }, controller.signal).ctx);
    setTimeout(() => controller.abort(reason), 20);
    await expect(run).rejects.toBe(reason);
  });

  it("fails retryably when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error: unknown = await builtin("http").run(context({ url: `http://127.0.0.1:${port}/` }).ctx).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/failed: ECONNREFUSED/);
    expect(isNonRetryable(error)).toBe(false);
  });

  it("refuses a url that is not http or https, and a GET with a body, without retry", async () => {
    await expect(builtin("http").run(context({ url: "file:///etc/passwd" }).ctx)).rejects.toThrow(
      "http: invalid payload: url: expected an http:// or https:// URL",
    );
    await expect(builtin("http").run(context({ url: `${base}/`, body: "x" }).ctx)).rejects.toThrow(
      "http: invalid payload: body: a GET or HEAD request cannot have a body",
    );
    await expect(builtin("http").run(context({ url: `${base}/`, method: "BREW" }).ctx)).rejects.toBeInstanceOf(
      NonRetryableError,
    );
  });
});

describe("shell", () => {
  it("refuses a program that is not in the allow-list, without retry", async () => {
    const run = builtin("shell", ["echo"]).run(context({ program: "rm", args: ["-rf", "/tmp/x"] }).ctx);
    await expect(run).rejects.toBeInstanceOf(NonRetryableError);
    await expect(run).rejects.toThrow('shell: program "rm" is not in SHELL_ALLOWLIST');
  });

  it("runs an allow-listed program with its arguments, never through a shell", async () => {
    const result = await builtin("shell", ["echo"]).run(context({ program: "echo", args: ["hello", "$(whoami)", ";", "ls"] }).ctx);
    expect(result).toEqual({ exit_code: 0, stdout: "hello $(whoami) ; ls\n" });
  });

  it("cuts stdout to 4 KB", async () => {
    const result = await builtin("shell", ["head"]).run(context({ program: "head", args: ["-c", "100000", "/dev/zero"] }).ctx);
    expect((result as { stdout: string }).stdout).toHaveLength(SHELL_STDOUT_LIMIT);
  });

  it("fails retryably when the program exits non-zero", async () => {
    const error: unknown = await builtin("shell", ["false"]).run(context({ program: "false" }).ctx).catch((e: unknown) => e);
    expect((error as Error).message).toBe("shell: false exited with code 1");
    expect(isNonRetryable(error)).toBe(false);
  });

  it("fails without retry when an allow-listed program does not exist", async () => {
    const run = builtin("shell", ["no-such-program-xyz"]).run(context({ program: "no-such-program-xyz" }).ctx);
    await expect(run).rejects.toBeInstanceOf(NonRetryableError);
  });

  it("kills the program when the task's signal aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("task aborted");
    const run = builtin("shell", ["sleep"]).run(context({ program: "sleep", args: ["30"] }, controller.signal).ctx);
    setTimeout(() => controller.abort(reason), 50);
    await expect(run).rejects.toBe(reason);
  });

  it("fails without retry on a malformed payload", async () => {
    await expect(builtin("shell", ["echo"]).run(context({ program: "echo", args: "hi" }).ctx)).rejects.toThrow(
      "shell: invalid payload: args: expected an array of strings",
    );
  });
});
