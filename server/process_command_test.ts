import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./build_entry.ts";
import { processCommand } from "./process_command.ts";

/** Runs `command` from the repository root until it logs a line with `msg` (JSON logs) or exits; kills it. */
async function firstLineWith(
  command: { file: string; args: string[] },
  env: Record<string, string>,
  msg: string,
): Promise<{ line?: Record<string, unknown>; output: string }> {
  const child = spawn(command.file, command.args, {
    cwd: repoRoot,
    env: { ...process.env, LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return await new Promise((resolve) => {
    const look = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      for (const text of output.split("\n").slice(0, -1)) {
        if (!text.startsWith("{")) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (line["msg"] === msg) {
          child.kill("SIGKILL");
          resolve({ line, output });
        }
      }
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.once("exit", () => resolve({ output }));
  });
}

describe("processCommand()", () => {
  it("runs a role's built main.ts on plain node, after the given flags, the role's V8 flags and preloads", async () => {
    const command = await processCommand("worker", { nodeFlags: ["--cpu-prof"], preload: ["scripts/_exit_with_launcher.ts"] });
    expect(command).toEqual({
      file: process.execPath,
      args: [
        "--cpu-prof",
        "--max-semi-space-size=2",
        "--import",
        pathToFileURL(join(repoRoot, ".build", "scripts", "_exit_with_launcher.js")).href,
        join(repoRoot, ".build", "worker", "main.js"),
      ],
    });
  });

  it("runs a worker that loads TypeScript HANDLER_MODULES (compiled by tsx on demand)", async () => {
    const { line, output } = await firstLineWith(
      await processCommand("worker"),
      { COORDINATOR: "127.0.0.1:1", HANDLER_MODULES: "./worker/testdata/greet_handlers.ts", LOG_LEVEL: "info" },
      "worker serving",
    );
    expect(line?.["handlers"], output).toBe("greet,http,noop,sleep");
  });

  it("runs a worker that reports a TypeScript handler module's mistakes", async () => {
    const { line, output } = await firstLineWith(
      await processCommand("worker"),
      { COORDINATOR: "127.0.0.1:1", HANDLER_MODULES: "./worker/handler.ts", LOG_LEVEL: "info" },
      "cannot load HANDLER_MODULES",
    );
    // Found by importing the module: it has no `handlers` export.
    expect(line?.["error"], output).toMatch(/^Handler module "\.\/worker\/handler\.ts": expected an export `handlers: TaskHandler\[\]`/);
  });
});
