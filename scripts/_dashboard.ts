// `npm start` serves the dashboard the server finds in web/dist: build it on the first run.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
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

/** Newest modification time (ms) of the files below `dir`, skipping `skip` folders. */
function newestMtime(dir: string, skip: Set<string>): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path, skip) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Why web/dist must be built: missing, or older than the sources it is built from; null when current. */
function dashboardBuildReason(repoRoot: string): string | null {
  const index = join(repoRoot, "web", "dist", "index.html");
  if (!existsSync(index)) return "first run";
  const built = statSync(index).mtimeMs;
  const sources = Math.max(
    newestMtime(join(repoRoot, "web"), new Set(["dist", "node_modules"])),
    newestMtime(join(repoRoot, "shared"), new Set()),
  );
  return sources > built ? "its sources changed" : null;
}

/**
 * Runs `npm run build:web` when web/dist/index.html does not exist or is older than web/ and
 * shared/, and package.json has that script. A failed build is logged, not thrown: the API works
 * without the dashboard.
 */
export async function buildDashboardIfMissing(options: BuildDashboardOptions): Promise<void> {
  const reason = dashboardBuildReason(options.repoRoot);
  if (reason === null) return;
  const scripts = (JSON.parse(readFileSync(join(options.repoRoot, "package.json"), "utf8")) as { scripts?: Record<string, string> })
    .scripts;
  if (!scripts?.["build:web"]) return;
  options.log.info(`building the dashboard into web/dist (${reason}): npm run build:web`);
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
