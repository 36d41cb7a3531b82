// Compiles a TypeScript entry point of this repository into plain JavaScript under .build/, so that its
// process runs on `node` alone: no TypeScript loader (tsx runs its loader in a second thread with a heap
// of its own, ~30 MB in every process; bench/FINDINGS.md F8).
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** This repository's root. */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** Folder of the built files, below the repository root (git-ignored). */
export const BUILD_DIR = ".build";

/** This file: a change to how entries are built makes every build stale. */
const builderSource = fileURLToPath(import.meta.url);

/** Options for {@linkcode buildEntry}. */
export interface BuildEntryOptions {
  /** The repository whose file is built. Default: this one. */
  repoRoot?: string;
  /** Build even when the output is current. Default false. */
  force?: boolean;
}

/** What {@linkcode buildEntry} did. */
export interface BuiltEntry {
  /** The entry, as given (`"worker/main.ts"`). */
  entry: string;
  /** Absolute path of the JavaScript file to run. */
  path: string;
  /** True when it was (re)built by this call; false when it was current. */
  built: boolean;
  /** Why it was built ("not built yet", "<file> changed", "forced", ...); null when it was current. */
  reason: string | null;
}

/** What is recorded beside each output (`<output>.json`) to tell whether it is current. */
interface BuildRecord {
  /** `Date.now()` just before the sources were read. */
  startedAt: number;
  /** The bundler's version. */
  esbuild: string;
  /** Every repository file the output was built from, relative to the repository root. */
  inputs: string[];
}

const inFlight = new Map<string, Promise<BuiltEntry>>();

/**
 * Makes `.build/<entry>.js` (e.g. `.build/worker/main.js` for `"worker/main.ts"`) current and returns
 * its path. It is (re)built, in well under a second, when it is missing or when one of the repository
 * files it was built from (or this builder) changed since, or when `force` is set; otherwise nothing
 * is written.
 *
 * The output is one ES module: the repository's TypeScript bundled with esbuild, packages left as
 * imports (resolved from node_modules at run time, as from the sources). In each bundled file
 * `import.meta.url` keeps meaning that file's source URL (relative to the output, so the repository
 * may move), so code that finds files next to itself (proto/api.proto, prisma's migrations, web/dist)
 * behaves as when run from source. Any other use of `import.meta` fails the build, naming file and line.
 *
 * Builds of one entry in this process share one run; outputs are written to temporary files and
 * renamed, so another process running the same entry never sees a half-written file.
 * Throws when `entry` is not a `.ts` path relative to the repository root inside it, or when the build
 * fails (naming the file and line of each error).
 */
export async function buildEntry(entry: string, options: BuildEntryOptions = {}): Promise<BuiltEntry> {
  const root = options.repoRoot ?? repoRoot;
  if (!entry.endsWith(".ts") || isAbsolute(entry) || entry.split(/[/\\]/).some((part) => part === ".." || part === "")) {
    throw new RangeError(
      `Cannot build entry as it must be a TypeScript file given relative to the repository root, such as "worker/main.ts": current value is ${JSON.stringify(entry)}`,
    );
  }
  const output = join(root, BUILD_DIR, entry.replace(/\.ts$/, ".js"));
  const key = `${output}\0${options.force === true}`;
  let running = inFlight.get(key);
  if (!running) {
    running = (async () => {
      const reason = options.force ? "forced" : await staleReason(root, output);
      if (reason === null) return { entry, path: output, built: false, reason };
      await bundle(root, entry, output);
      return { entry, path: output, built: true, reason };
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, running);
  }
  return await running;
}

/** Why `output` must be built, or null when it is current. */
async function staleReason(root: string, output: string): Promise<string | null> {
  let record: BuildRecord;
  try {
    record = JSON.parse(await readFile(`${output}.json`, "utf8")) as BuildRecord;
  } catch {
    return "not built yet";
  }
  if (!existsSync(output)) return "not built yet";
  const esbuildVersion = await esbuildPackageVersion();
  if (record.esbuild !== esbuildVersion) return `esbuild ${record.esbuild} → ${esbuildVersion}`;
  for (const input of [...record.inputs.map((file) => join(root, file)), builderSource]) {
    const changed = await stat(input).then(
      (s) => s.mtimeMs > record.startedAt,
      () => true,
    );
    if (changed) return `${relative(root, input)} changed`;
  }
  return null;
}

/** The installed esbuild's version, read without loading esbuild (a current build needs none). */
async function esbuildPackageVersion(): Promise<string> {
  const packageJson = createRequire(import.meta.url).resolve("esbuild/package.json");
  return (JSON.parse(await readFile(packageJson, "utf8")) as { version: string }).version;
}

/** Builds running in this process: esbuild's service process is stopped when the last one ends. */
let activeBuilds = 0;

/** Bundles `entry` into `output` (with its source map `<output>.map` and its record `<output>.json`). */
async function bundle(root: string, entry: string, output: string): Promise<void> {
  const esbuild = await import("esbuild");
  activeBuilds++;
  try {
    await bundleWith(esbuild, root, entry, output);
  } finally {
    // esbuild keeps a service process of its own after a build: do not leave it running in a server.
    if (--activeBuilds === 0) await esbuild.stop();
  }
}

async function bundleWith(esbuild: typeof import("esbuild"), root: string, entry: string, output: string): Promise<void> {
  const startedAt = Date.now();
  const outDir = dirname(output);
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: output,
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: "node20",
    // No keepNames: its __name() wrapper runs at every closure's creation (5-8% of a busy
    // worker's CPU); nothing here reads a function's name, and stack traces map through the source map.
    sourcemap: "linked",
    metafile: true,
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "taskmaster-source-urls",
        setup(build) {
          build.onLoad({ filter: /\.[cm]?tsx?$/ }, async (args) => {
            if (!isInside(root, args.path)) return undefined;
            const source = await readFile(args.path, "utf8");
            if (!source.includes("import.meta")) return undefined;
            return { contents: await keepSourceUrl(esbuild, source, args.path, outDir), loader: "js" };
          });
        },
      },
    ],
  }).catch((error: unknown) => {
    const messages = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    if (!messages) throw error;
    throw new Error(
      `Cannot build ${entry}: ${messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text)).join("; ")}`,
    );
  });
  const record: BuildRecord = {
    startedAt,
    esbuild: await esbuildPackageVersion(),
    inputs: Object.keys(result.metafile.inputs).filter((file) => !isAbsolute(file) && !file.startsWith("..")).sort(),
  };
  await mkdir(outDir, { recursive: true });
  // The code before its record: a record never describes code that is not there yet.
  for (const file of result.outputFiles) await writeAtomically(file.path, file.contents);
  await writeAtomically(`${output}.json`, `${JSON.stringify(record, null, 2)}\n`);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) && !rel.split(sep).includes("node_modules");
}

/** What `import.meta.url` becomes in a built file (declared on its first line). */
const SOURCE_URL = "__taskmaster_source_url";

/**
 * `source` (the TypeScript file at `path`) compiled to JavaScript, with `import.meta.url` meaning that
 * file's URL, computed from the output's at run time (`new URL("../../proto/grpc_api.ts",
 * import.meta.url).href` for a file bundled into `.build/worker/main.js`). Throws on any other use of
 * `import.meta`, naming its line: its value would be the output's, not the source's.
 */
async function keepSourceUrl(esbuild: typeof import("esbuild"), source: string, path: string, outDir: string): Promise<string> {
  const { code, warnings } = await esbuild.transform(source, {
    loader: path.endsWith("x") ? "tsx" : "ts",
    format: "esm",
    target: "node20",
    sourcefile: path,
    sourcemap: "inline",
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
    define: { "import.meta.url": SOURCE_URL },
    // What is left of import.meta is then reported (and emptied): a use this build cannot keep.
    supported: { "import-meta": false },
    logLevel: "silent",
  });
  const unsupported = warnings.find((w) => w.id === "empty-import-meta");
  if (unsupported) {
    const at = unsupported.location;
    throw new Error(
      `${path}:${at?.line ?? "?"}: import.meta is not supported in built code, only import.meta.url (kept pointing at the source file): ${at?.lineText.trim() ?? ""}`,
    );
  }
  const toSource = relative(outDir, path).split(sep).map(encodeURIComponent).join("/");
  // On the first line, so the lines of the inline source map still match.
  return `const ${SOURCE_URL} = new URL(${JSON.stringify(toSource)}, import.meta.url).href; ${code}`;
}

async function writeAtomically(path: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, contents);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
