// How a TaskMaster process is run: the one answer for `npm start`, the server's local workers, the
// benchmark and the tests (the Dockerfile, docker-compose.yml and deploy/kubernetes spell the same).
import { pathToFileURL } from "node:url";
import { buildEntry, type BuildEntryOptions, type BuiltEntry } from "./build_entry.ts";

/** A TaskMaster process, by the folder of its `main.ts`. */
export type ProcessRole = "coordinator" | "server" | "worker";

/** A command line: `file` with `args` (spawn's arguments). */
export interface ProcessCommand {
  /** The executable: the Node binary. */
  file: string;
  args: string[];
}

/** Options for {@linkcode processCommand}. */
export interface ProcessCommandOptions extends Pick<BuildEntryOptions, "repoRoot"> {
  /** Node flags before everything else (e.g. `--cpu-prof`). */
  nodeFlags?: readonly string[];
  /**
   * Repository TypeScript modules (`<folder>/<file>.ts`) loaded before the entry with `--import`,
   * built the same way (e.g. the launcher's `scripts/_exit_with_launcher.ts`).
   */
  preload?: readonly string[];
  /** Called for each file this call (re)built (not for those that were current). */
  onBuilt?: (built: BuiltEntry) => void;
}

/**
 * V8 flags of each role. The worker's young generation is capped at 2 MB per semi-space (V8 grows it
 * to 16 MB): under load, where its objects live for one batch, that trims its peak RSS. Measured with
 * 3 workers and 20,000 tasks, medians of 4 runs each: worker 118 → 112 MB (every run 111-113, against
 * 115-123 without: the 120 MB target held by a margin), for ~9% more worker CPU and no throughput
 * change the runs could tell from noise. The coordinator gains as much (138 → 104 MB) but is far
 * below its 200 MB target without it, so it does not pay there the ~10% CPU it costs.
 * `--optimize-for-size` went further (worker 77 MB) at 30-45% more CPU.
 */
const ROLE_NODE_FLAGS: Record<ProcessRole, readonly string[]> = {
  coordinator: [],
  server: [],
  worker: ["--max-semi-space-size=2"],
};

/**
 * The command that runs a TaskMaster process from compiled JavaScript:
 * `node [nodeFlags] [role's V8 flags] [--import <preload>...] <repo>/.build/<role>/main.js`, building what is
 * missing or stale first ({@linkcode buildEntry}). Plain `node`, without a TypeScript loader: tsx costs
 * ~30 MB in every process. The one place that decides how `npm start`, the server's local workers and
 * the benchmark run a process (the Dockerfile runs the same built files).
 */
export async function processCommand(role: ProcessRole, options: ProcessCommandOptions = {}): Promise<ProcessCommand> {
  const build = { repoRoot: options.repoRoot };
  const [entry, ...preloads] = await Promise.all([
    buildEntry(`${role}/main.ts`, build),
    ...(options.preload ?? []).map((module) => buildEntry(module, build)),
  ]);
  for (const built of [entry!, ...preloads]) if (built.built) options.onBuilt?.(built);
  return {
    file: process.execPath,
    args: [
      ...(options.nodeFlags ?? []),
      ...ROLE_NODE_FLAGS[role],
      ...preloads.flatMap((p) => ["--import", pathToFileURL(p.path).href]),
      entry!.path,
    ],
  };
}
