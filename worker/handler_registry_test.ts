import { describe, expect, it } from "vitest";
import { defineHandler } from "./handler.ts";
import { createHandlerRegistry } from "./handler_registry.ts";

const fallback = defineHandler("simulated", () => "simulated");

describe("createHandlerRegistry()", () => {
  it("resolves a command to its handler and any other command to the fallback", () => {
    const sleep = defineHandler("sleep", () => 1);
    const registry = createHandlerRegistry({ builtins: [sleep], custom: [], fallback });
    expect(registry.resolve("sleep")).toBe(sleep);
    expect(registry.resolve("send-email")).toBe(fallback);
    expect(registry.names).toEqual(["sleep"]);
  });

  it("lets a custom handler replace the built-in of the same name, and says so", () => {
    const builtin = defineHandler("http", () => 1);
    const custom = defineHandler("http", () => 2);
    const overridden: string[] = [];
    const registry = createHandlerRegistry({ builtins: [builtin], custom: [custom], fallback, onOverride: (n) => overridden.push(n) });
    expect(registry.resolve("http")).toBe(custom);
    expect(overridden).toEqual(["http"]);
  });

  it("refuses two custom handlers of one name", () => {
    const a = defineHandler("greet", () => 1);
    expect(() => createHandlerRegistry({ builtins: [], custom: [a, a], fallback })).toThrow(
      'Cannot register handlers: two handlers are named "greet"',
    );
  });
});

describe("defineHandler()", () => {
  it("refuses an empty or odd name", () => {
    expect(() => defineHandler("", () => 1)).toThrow(TypeError);
    expect(() => defineHandler("has space", () => 1)).toThrow(/name must be 1-100 characters/);
  });

  it("keeps a synchronous run synchronous (no promise for the pool to wait on), and an async one's promise", async () => {
    expect(defineHandler("x", () => 5).run({} as never)).toBe(5);
    const later = defineHandler("y", async () => 6).run({} as never);
    expect(later).toBeInstanceOf(Promise);
    await expect(later).resolves.toBe(6);
    expect(() => defineHandler("z", () => {
      throw new Error("at once");
    }).run({} as never)).toThrow("at once");
  });
});
