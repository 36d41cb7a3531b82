// `npm start` serves the dashboard the server finds in web/dist: build it on the first run.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import type { Logger } from "../shared/mod.ts";

/** Options for {@linkcode buildDashboardIfMissing}. */
export interface BuildDashboardOptions {
  repoRoot: string;
  log: Logger;
  /** Gets each output line of the build. */
  onLine(line: string, stream: "stdout" | "stderr"): void;
  /** npm's CLI script (`npm_execpath`, set when run through npm); else `npm` on the PATH. */
  npmCli: string | undefined;
  /** Aborting kills the build. */
  signal: AbortSignal;
}

/**
 * Runs `npm run build:web` when web/dist/index.html does not exist and package.json has that script.
 * A failed build is logged, not thrown: the API works without the dashboard.
 */
export async function buildDashboardIfMissing(options: BuildDashboardOptions): Promise<void> {
  if (existsSync(join(options.repoRoot, "web", "dist", "index.html"))) return;
  const scripts = (JSON.parse(readFileSync(join(options.repoRoot, "package.json"), "utf8")) as { scripts?: Record<string, string> })
    .scripts;
  if (!scripts?.["build:web"]) return;
  options.log.info("building the dashboard into web/dist (first run): npm run build:web");
  const [command, args] = options.npmCli
    ? [process.execPath, [options.npmCli, "run", "build:web"]]
    : ["npm", ["run", "build:web"]];
  const outcome = await new Promise<string | null>((resolve) => {
    const build = spawn(command, args, {
      cwd: options.repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
      env: { ...process.env, NO_COLOR: "1" },
    });
    for (const stream of ["stdout", "stderr"] as const) {
      createInterface({ input: build[stream]!, crlfDelay: Infinity }).on("line", (line) => {
        if (line.trim()) options.onLine(line, stream);
      });
    }
    build.once("error", (error) => resolve(error.name === "AbortError" ? null : error.message));
    build.once("exit", (code, signal) => resolve(code === 0 ? null : `exit ${signal ?? `code ${code}`}`));
  });
  if (options.signal.aborted) return;
  if (outcome === null) options.log.info("built the dashboard");
  else options.log.warn(`could not build the dashboard (${outcome}); the API works, the page at / says it is not built`);
}
