import type { TaskHandler } from "./handler.ts";

/** Looks up the handler of a command. */
export interface HandlerRegistry {
  /** Commands with a handler of their own (sorted), as the heartbeat advertises them. */
  readonly names: readonly string[];
  /** The handler of `command`, or the fallback when it has none. */
  resolve(command: string): TaskHandler;
}

/** Options for {@linkcode createHandlerRegistry}. */
export interface HandlerRegistryOptions {
  /** The built-in handlers. */
  builtins: readonly TaskHandler[];
  /** Handlers from HANDLER_MODULES: they replace a built-in of the same name. */
  custom: readonly TaskHandler[];
  /** Runs commands without a handler. */
  fallback: TaskHandler;
  /** Told when a custom handler replaces a built-in. */
  onOverride?: (name: string) => void;
}

/**
 * Builds the registry. A custom handler replaces the built-in of the same name; two custom handlers
 * of one name are an error (`Error` naming it), as it would be unclear which one runs.
 */
export function createHandlerRegistry(options: HandlerRegistryOptions): HandlerRegistry {
  const byName = new Map<string, TaskHandler>();
  for (const handler of options.builtins) byName.set(handler.name, handler);
  const customNames = new Set<string>();
  for (const handler of options.custom) {
    if (customNames.has(handler.name)) {
      throw new Error(`Cannot register handlers: two handlers are named ${JSON.stringify(handler.name)}`);
    }
    customNames.add(handler.name);
    if (byName.has(handler.name)) options.onOverride?.(handler.name);
    byName.set(handler.name, handler);
  }
  const names = [...byName.keys()].sort();
  return {
    names,
    resolve: (command) => byName.get(command) ?? options.fallback,
  };
}
