// The layering rules (.dependency-cruiser.cjs, STYLE.md "Layering for this project") catch what they
// promise to catch. Each case plants a file in a temporary copy of the repository (node_modules
// linked, never the working tree), runs dependency-cruiser exactly as `npm run lint:layers` does, and
// looks for the rule in its JSON report.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./_process.ts";

const FOLDERS = ["server", "worker", "coordinator", "shared", "prisma", "proto", "web", "scripts", "tests", "bench"];
const depcruiseBin = join(repoRoot, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs dependency-cruiser on `root` as `npm run lint:layers` does; returns its violations. */
function cruise(root: string): Promise<Violation[]> {
  const folders = FOLDERS.filter((f) => existsSync(join(root, f)));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [depcruiseBin, "--config", ".dependency-cruiser.cjs", "--output-type", "json", ...folders],
      { cwd: root, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        try {
          const report = JSON.parse(stdout) as { summary: { violations: Violation[] } };
          resolve(report.summary.violations);
        } catch {
          reject(new Error(`dependency-cruiser gave no report (${error?.message ?? "no error"}):\n${stderr}`));
        }
      },
    );
  });
}

const describeViolations = (violations: Violation[]) =>
  violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join("\n") || "(none)";

/** A file planted in the copy and the rule it must break (null: it must break none). */
interface Plant {
  file: string;
  text: string;
  rule: string | null;
  what: string;
  /** Other files the case needs. */
  also?: { file: string; text: string }[];
}

const plants: Plant[] = [
  { what: "a worker importing prisma", file: "worker/_planted_prisma.ts", text: `import "../prisma/mod.ts";\n`, rule: "worker-imports-shared-proto" },
  { what: "a worker importing pg", file: "worker/_planted_pg.ts", text: `import pg from "pg";\nexport const x = pg;\n`, rule: "worker-never-touches-the-database" },
  { what: "a worker importing @prisma/client", file: "worker/_planted_prisma_client.ts", text: `import { PrismaClient } from "@prisma/client";\nexport const x = PrismaClient;\n`, rule: "worker-never-touches-the-database" },
  { what: "the server importing the coordinator", file: "server/_planted_coordinator.ts", text: `import "../coordinator/mod.ts";\n`, rule: "processes-never-import-each-other" },
  { what: "the coordinator importing a worker", file: "coordinator/_planted_worker.ts", text: `import "../worker/mod.ts";\n`, rule: "processes-never-import-each-other" },
  { what: "the server importing proto", file: "server/_planted_proto.ts", text: `import "../proto/mod.ts";\n`, rule: "server-imports-shared-prisma" },
  { what: "the coordinator importing web", file: "coordinator/_planted_web.ts", text: `import "../web/mod.ts";\n`, rule: "coordinator-imports-shared-prisma-proto" },
  { what: "shared importing prisma", file: "shared/_planted_prisma.ts", text: `import "../prisma/mod.ts";\n`, rule: "base-layers-import-nothing-in-the-repo" },
  { what: "proto importing shared", file: "proto/_planted_shared.ts", text: `import "../shared/mod.ts";\n`, rule: "base-layers-import-nothing-in-the-repo" },
  { what: "shared importing a node: built-in", file: "shared/_planted_node.ts", text: `import { join } from "node:path";\nexport const x = join;\n`, rule: "browser-code-imports-no-node-builtins" },
  { what: "web importing a node: built-in", file: "web/_planted_node.ts", text: `import { readFile } from "node:fs/promises";\nexport const x = readFile;\n`, rule: "browser-code-imports-no-node-builtins" },
  { what: "web importing server/mod.ts for values", file: "web/_planted_value_import.ts", text: `import * as server from "../server/mod.ts";\nexport const x = server;\n`, rule: "web-imports-server-types-only" },
  { what: "web importing prisma", file: "web/_planted_prisma.ts", text: `import type { Task } from "../prisma/mod.ts";\nexport type X = Task;\n`, rule: "web-imports-shared-and-server-types" },
  { what: "an import past another folder's mod.ts", file: "coordinator/_planted_deep.ts", text: `import "../prisma/client.ts";\n`, rule: "other-folders-only-through-mod" },
  { what: "an import of another folder's _private file", file: "server/_planted_private.ts", text: `import "../prisma/_schema_engine.ts";\n`, rule: "underscore-files-are-private" },
  { what: "an import of a main.ts", file: "coordinator/_planted_main.ts", text: `import "./main.ts";\n`, rule: "main-is-never-imported" },
  { what: "testing.ts imported by non-test code", file: "server/_planted_testing.ts", text: `import "../prisma/testing.ts";\n`, rule: "testing-only-from-tests" },
  { what: "an import of scripts/", file: "worker/_planted_scripts.ts", text: `import "../scripts/start.ts";\n`, rule: "nothing-imports-scripts" },
  { what: "an import of tests/", file: "scripts/_planted_tests.ts", text: `import "../tests/_process.ts";\n`, rule: "nothing-imports-tests" },
  { what: "an import of a root config file", file: "shared/_planted_root.ts", text: `import "../vitest.config.ts";\n`, rule: "root-files-are-not-modules" },
  {
    what: "a circular import",
    file: "shared/_planted_cycle_a.ts",
    text: `import "./_planted_cycle_b.ts";\n`,
    rule: "no-circular",
    also: [{ file: "shared/_planted_cycle_b.ts", text: `import "./_planted_cycle_a.ts";\n` }],
  },
  { what: "an import of a file that does not exist", file: "proto/_planted_missing.ts", text: `import "./_does_not_exist.ts";\n`, rule: "not-to-unresolvable" },
  // Allowed: these must break no rule.
  { what: "web importing server/mod.ts with `import type`", file: "web/_planted_type_import.ts", text: `import type { AppRouter } from "../server/mod.ts";\nexport type X = AppRouter;\n`, rule: null },
  { what: "web importing shared", file: "web/_planted_shared.ts", text: `import { TASK_STATUSES } from "../shared/mod.ts";\nexport const x = TASK_STATUSES;\n`, rule: null },
  { what: "a *_test.ts file importing another folder's testing.ts", file: "server/planted_fixture_test.ts", text: `import "../prisma/testing.ts";\n`, rule: null },
  { what: "tests/ importing mod.ts, testing.ts and its own _process.ts", file: "tests/planted_allowed_test.ts", text: `import "../worker/mod.ts";\nimport "../coordinator/mod.ts";\nimport "../prisma/testing.ts";\nimport "./_process.ts";\n`, rule: null },
  { what: "scripts/ importing any folder's mod.ts", file: "scripts/_planted_allowed.ts", text: `import "../server/mod.ts";\nimport "../prisma/mod.ts";\nimport "../shared/mod.ts";\n`, rule: null },
  { what: "the coordinator importing proto and prisma", file: "coordinator/_planted_allowed.ts", text: `import "../proto/mod.ts";\nimport "../prisma/mod.ts";\n`, rule: null },
];

let copy: string;
let treeViolations: Violation[];
let plantedViolations: Violation[];

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), "taskmaster-layering-"));
  for (const entry of [...FOLDERS, "tsconfig.json", "package.json", ".dependency-cruiser.cjs", "vitest.config.ts"]) {
    const from = join(repoRoot, entry);
    if (!existsSync(from)) continue;
    await cp(from, join(copy, entry), {
      recursive: true,
      filter: (path) => !/[/\\](node_modules|\.data|dist)([/\\]|$)/.test(path.slice(repoRoot.length)),
    });
  }
  await symlink(join(repoRoot, "node_modules"), join(copy, "node_modules"), "dir");
  treeViolations = await cruise(copy);

  // Targets some plants need, in case the folder is not written yet.
  for (const folder of ["server", "worker", "coordinator", "web"]) {
    const mod = join(copy, folder, "mod.ts");
    if (!existsSync(mod)) {
      await mkdir(dirname(mod), { recursive: true });
      await writeFile(mod, "export {};\n");
    }
  }
  for (const plant of plants) {
    for (const { file, text } of [plant, ...(plant.also ?? [])]) await writeFile(join(copy, file), text);
  }
  plantedViolations = await cruise(copy);
}, 120_000);

afterAll(async () => {
  if (copy) await rm(copy, { recursive: true, force: true });
});

describe(".dependency-cruiser.cjs", () => {
  it("passes the repository as it is", () => {
    expect(describeViolations(treeViolations)).toBe("(none)");
  });

  for (const plant of plants.filter((p) => p.rule !== null)) {
    it(`reports ${plant.what} as ${plant.rule}`, () => {
      const files = [plant.file, ...(plant.also ?? []).map((a) => a.file)];
      const found = plantedViolations.filter((v) => files.includes(v.from));
      expect(found.map((v) => v.rule.name), `violations from ${plant.file}:\n${describeViolations(found)}`).toContain(
        plant.rule,
      );
    });
  }

  for (const plant of plants.filter((p) => p.rule === null)) {
    it(`allows ${plant.what}`, () => {
      const found = plantedViolations.filter((v) => v.from === plant.file);
      expect(describeViolations(found)).toBe("(none)");
    });
  }
});
