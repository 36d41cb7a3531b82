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
 * V8 flags of each role. A young generation capped at 2 MB per semi-space (V8's default grows it to
 * 16 MB) trims the peak under load, where objects live for one batch; measured with 3 workers and
 * 20,000 tasks (8 runs each, medians): coordinator 200 → 184 MB, worker 120 → 112 MB, for ~5-10% more
 * CPU in those processes and no throughput change that the runs could tell from noise.
 * `--optimize-for-size` went further (coordinator 160, worker 77 MB) but cost 30-45% more CPU in
 * both; `--max-semi-space-size=1` raised the coordinator's peak (more promoted to the old generation).
 */
const ROLE_NODE_FLAGS: Record<ProcessRole, readonly string[]> = {
  coordinator: ["--max-semi-space-size=2"],
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
