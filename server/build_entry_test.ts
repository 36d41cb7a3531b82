import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { buildEntry } from "./build_entry.ts";

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "taskmaster-build-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A repository of its own in the scratch folder, with `files` (path → text). */
function repository(name: string, files: Record<string, string>): string {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Prints where it and a file of another folder think they are, as the repository's code finds files. */
const whereFiles = {
  "app/main.ts": `import { fileURLToPath } from "node:url";
import { libUrl } from "../lib/where.ts";
const here: string = fileURLToPath(new URL(".", import.meta.url));
console.log(JSON.stringify({ main: import.meta.url, here, lib: libUrl }));
`,
  "lib/where.ts": `export const libUrl: string = import.meta.url;
`,
};

async function runJson(path: string): Promise<Record<string, string>> {
  return JSON.parse((await run(process.execPath, [path])).stdout) as Record<string, string>;
}

describe("buildEntry()", () => {
  it("compiles an entry into .build/ where import.meta.url stays each source file's, also after the repository moves", async () => {
    const root = repository("where", whereFiles);
    const built = await buildEntry("app/main.ts", { repoRoot: root });
    expect(built).toEqual({ entry: "app/main.ts", path: join(root, ".build", "app", "main.js"), built: true, reason: "not built yet" });
    expect(await runJson(built.path)).toEqual({
      main: pathToFileURL(join(root, "app", "main.ts")).href,
      here: join(root, "app") + "/",
      lib: pathToFileURL(join(root, "lib", "where.ts")).href,
    });

    const moved = join(scratch, "where moved");
    renameSync(root, moved);
    expect(await runJson(join(moved, ".build", "app", "main.js"))).toEqual({
      main: pathToFileURL(join(moved, "app", "main.ts")).href,
      here: join(moved, "app") + "/",
      lib: pathToFileURL(join(moved, "lib", "where.ts")).href,
    });
  });

  it("builds again only when a file it was built from changed", async () => {
    const root = repository("stale", whereFiles);
    const first = await buildEntry("app/main.ts", { repoRoot: root });
    expect(first.built).toBe(true);
    expect(await buildEntry("app/main.ts", { repoRoot: root })).toMatchObject({ built: false, reason: null });

    const record = JSON.parse(readFileSync(`${first.path}.json`, "utf8")) as { startedAt: number; inputs: string[] };
    expect(record.inputs).toEqual(["app/main.ts", "lib/where.ts"]);
    writeFileSync(join(root, "lib", "where.ts"), `export const libUrl: string = "changed";\n`);
    // Changed after that build started (and before the next one starts).
    const changedAt = new Date(record.startedAt + 1);
    utimesSync(join(root, "lib", "where.ts"), changedAt, changedAt);
    expect(await buildEntry("app/main.ts", { repoRoot: root })).toMatchObject({ built: true, reason: "lib/where.ts changed" });
    expect((await runJson(first.path))["lib"]).toBe("changed");
    expect(await buildEntry("app/main.ts", { repoRoot: root })).toMatchObject({ built: false });
    expect(await buildEntry("app/main.ts", { repoRoot: root, force: true })).toMatchObject({ built: true, reason: "forced" });
  });

  it("refuses any use of import.meta but its url, naming the file", async () => {
    const root = repository("meta", {
      "app/main.ts": `import { dir } from "../lib/dir.ts";\nconsole.log(dir);\n`,
      "lib/dir.ts": `// import.meta.dirname in a comment is no use of it\nexport const dir: string = import.meta.dirname;\n`,
    });
    await expect(buildEntry("app/main.ts", { repoRoot: root })).rejects.toThrow(
      /^Cannot build app\/main\.ts: .*lib\/dir\.ts:2: import\.meta is not supported in built code, only import\.meta\.url \(kept pointing at the source file\): export const dir: string = import\.meta\.dirname;$/,
    );
  });

  it("names the file and line of a compile error", async () => {
    const root = repository("broken", { "app/main.ts": `const a: number = 1;\nconst b = ;\n` });
    await expect(buildEntry("app/main.ts", { repoRoot: root })).rejects.toThrow(/^Cannot build app\/main\.ts: app\/main\.ts:2: /);
  });

  it("refuses an entry that is not a TypeScript file given relative to the repository root", async () => {
    for (const entry of ["/app/main.ts", "../app/main.ts", "app/../../main.ts", "app//main.ts", "app/main.js"]) {
      await expect(buildEntry(entry, { repoRoot: scratch })).rejects.toThrow(
        `Cannot build entry as it must be a TypeScript file given relative to the repository root, such as "worker/main.ts": current value is ${JSON.stringify(entry)}`,
      );
    }
  });
});
