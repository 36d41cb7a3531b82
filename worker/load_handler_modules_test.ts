import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { HandlerModuleError, loadHandlerModules } from "./load_handler_modules.ts";
import { createTestLogger } from "./testing.ts";

const workerDir = fileURLToPath(new URL(".", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "taskmaster-handlers-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function module(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

describe("loadHandlerModules()", () => {
  it("loads the `handlers` of a TypeScript module, a path relative to the base directory", async () => {
    const handlers = await loadHandlerModules(["./testdata/greet_handlers.ts"], workerDir);
    expect(handlers.map((h) => h.name)).toEqual(["greet"]);
    const ctx = { taskId: "t", attempt: 1, command: "greet", payload: { name: "Ada" }, signal: new AbortController().signal, progress: () => {}, log: createTestLogger() };
    expect(await handlers[0]!.run(ctx)).toEqual({ greeting: "hello Ada" });
  });

  it("concatenates the handlers of several modules in order, absolute paths too", async () => {
    const a = module("a.mjs", 'export const handlers = [{ name: "a1", run: async () => 1 }, { name: "a2", run: async () => 2 }];');
    const b = module("b.mjs", 'export const handlers = [{ name: "b1", run: async () => 3 }];');
    const handlers = await loadHandlerModules([a, b], "/nowhere");
    expect(handlers.map((h) => h.name)).toEqual(["a1", "a2", "b1"]);
  });

  it("loads nothing for an empty list", async () => {
    await expect(loadHandlerModules([], workerDir)).resolves.toEqual([]);
  });

  it("names the module that cannot be imported", async () => {
    const error: unknown = await loadHandlerModules(["./no_such_module.ts"], scratch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandlerModuleError);
    expect((error as HandlerModuleError).specifier).toBe("./no_such_module.ts");
    expect((error as Error).message).toMatch(/^Handler module "\.\/no_such_module\.ts": cannot be imported/);
  });

  it("refuses a module without a `handlers` array", async () => {
    const path = module("none.mjs", "export const handler = {};");
    await expect(loadHandlerModules([path], scratch)).rejects.toThrow(/expected an export `handlers: TaskHandler\[\]`.*found none/);
  });

  it("refuses an element that is not a handler, naming its index", async () => {
    const path = module("bad.mjs", 'export const handlers = [{ name: "ok", run: async () => 1 }, { name: "", run: 1 }];');
    await expect(loadHandlerModules([path], scratch)).rejects.toThrow(/handlers\[1\] is not a TaskHandler/);
  });
});
