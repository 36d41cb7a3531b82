import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TaskHandler } from "./handler.ts";

/** A module of HANDLER_MODULES could not be loaded or does not export `handlers` correctly. */
export class HandlerModuleError extends Error {
  /** The module as it was named in HANDLER_MODULES. */
  readonly specifier: string;
  constructor(specifier: string, problem: string, options?: ErrorOptions) {
    super(`Handler module ${JSON.stringify(specifier)}: ${problem}`, options);
    this.name = "HandlerModuleError";
    this.specifier = specifier;
  }
}

/** A TypeScript file, which Node 20 cannot import by itself. */
const TYPESCRIPT_FILE = /\.(?:[cm]?ts|tsx)$/;

type ScopedImport = (specifier: string, parentUrl: string) => Promise<unknown>;
let typeScriptImport: Promise<ScopedImport> | undefined;

/**
 * Imports through a tsx loader of its own (a namespace: it changes nothing else in the process), set up
 * on first use only: the worker runs as compiled JavaScript, and tsx's loader thread costs ~30 MB.
 * Works the same whether or not the process already runs under tsx (`npm run worker`).
 */
function importTypeScript(url: string): Promise<unknown> {
  typeScriptImport ??= import("tsx/esm/api").then(({ register }) => register({ namespace: "taskmaster-handler-modules" }).import);
  return typeScriptImport.then((scopedImport) => scopedImport(url, import.meta.url));
}

/** True when `specifier` names a file (`./x.ts`, `../x.js`, `/abs/x.ts`, `x.ts`) rather than a package. */
function isPath(specifier: string): boolean {
  return (
    specifier.startsWith("./") ||
    specifier.startsWith("../") ||
    isAbsolute(specifier) ||
    /\.(?:[cm]?[jt]s|tsx|jsx)$/.test(specifier)
  );
}

/**
 * Imports each module of `specifiers` (HANDLER_MODULES) and returns their `handlers` exports, in order.
 * A path is resolved against `baseDir` (the worker's working directory); anything else is imported as
 * a package name. TypeScript files (`.ts`, `.mts`, `.cts`, `.tsx`) are compiled as they load, by tsx.
 * Throws {@linkcode HandlerModuleError} when a module cannot be imported, has no
 * `handlers` array, or an element is not `{name: non-empty string, run: function}`.
 */
export async function loadHandlerModules(specifiers: readonly string[], baseDir: string): Promise<TaskHandler[]> {
  const all: TaskHandler[] = [];
  for (const specifier of specifiers) {
    const target = isPath(specifier) ? pathToFileURL(resolve(baseDir, specifier)).href : specifier;
    let module: Record<string, unknown>;
    try {
      const imported = isPath(specifier) && TYPESCRIPT_FILE.test(specifier) ? importTypeScript(target) : import(target);
      module = (await imported) as Record<string, unknown>;
    } catch (error) {
      throw new HandlerModuleError(specifier, `cannot be imported: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    const handlers = module["handlers"];
    if (!Array.isArray(handlers)) {
      throw new HandlerModuleError(
        specifier,
        `expected an export \`handlers: TaskHandler[]\` (e.g. \`export const handlers = [defineHandler("name", run)]\`): found ${handlers === undefined ? "none" : typeof handlers}`,
      );
    }
    handlers.forEach((handler: unknown, index) => {
      if (
        typeof handler !== "object" ||
        handler === null ||
        !("name" in handler) ||
        typeof handler.name !== "string" ||
        handler.name.trim() === "" ||
        !("run" in handler) ||
        typeof handler.run !== "function"
      ) {
        throw new HandlerModuleError(
          specifier,
          `handlers[${index}] is not a TaskHandler: expected {name: non-empty string, run: function} (use defineHandler)`,
        );
      }
      all.push(handler as TaskHandler);
    });
  }
  return all;
}
