// The docker scaler against a stand-in Docker Engine API on a unix socket that records every request.
// Endpoints as the Docker Engine API (v1.41) documents them: ContainerList `GET /containers/json`,
// ContainerInspect `GET /containers/{id}/json`, ContainerCreate `POST /containers/create?name=`,
// ContainerStart `POST /containers/{id}/start`, ContainerStop `POST /containers/{id}/stop?t=`,
// ContainerDelete `DELETE /containers/{id}`, ContainerKill `POST /containers/{id}/kill`.
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../shared/mod.ts";
import { createDockerWorkerScaler, dockerEndpointFromHost, type KnownWorker } from "./docker_worker_scaler.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

interface FakeContainer {
  Id: string;
  Names: string[];
  Created: number;
  State: string;
  Labels: Record<string, string>;
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

const labels = (n: number) => ({
  "com.docker.compose.project": "taskmaster",
  "com.docker.compose.service": "worker",
  "com.docker.compose.container-number": String(n),
});

/** A stand-in Docker Engine: worker containers in memory, every request recorded. */
function fakeEngine(socketPath: string) {
  const requests: Recorded[] = [];
  const containers: FakeContainer[] = [1, 2].map((n) => ({
    Id: `c${n}`.padEnd(64, "0"),
    Names: [`/taskmaster-worker-${n}`],
    Created: 1_700_000_000 + n,
    State: "running",
    Labels: labels(n),
    NetworkSettings: { Networks: { taskmaster_default: { IPAddress: `172.18.0.${10 + n}` } } },
  }));
  let nextIp = 20;
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://docker");
      requests.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined });
      const send = (status: number, body?: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(body === undefined ? "" : JSON.stringify(body));
      };
      const byId = (id: string) => containers.find((c) => c.Id === id);
      let m: RegExpExecArray | null;
      if (req.method === "GET" && url.pathname === "/v1.41/containers/json") {
        const wanted = (JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] }).label ?? [];
        return send(200, containers.filter((c) => wanted.every((l) => { const [k, v] = l.split("="); return c.Labels[k!] === v; })));
      }
      if (req.method === "GET" && (m = /^\/v1\.41\/containers\/([^/]+)\/json$/.exec(url.pathname))) {
        const c = byId(m[1]!);
        if (!c) return send(404, { message: "No such container" });
        return send(200, {
          Id: c.Id,
          Config: { Image: "taskmaster:latest", Cmd: ["sh", "-c", "exec node --import tsx worker/main.ts"], Env: ["COORDINATOR=coordinator:8080"], Labels: c.Labels, WorkingDir: "/app", User: "node" },
          HostConfig: { RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 }, Init: true, NetworkMode: "taskmaster_default" },
          NetworkSettings: { Networks: { taskmaster_default: { IPAddress: "x" } } },
        });
      }
      if (req.method === "POST" && url.pathname === "/v1.41/containers/create") {
        const body = JSON.parse(text) as { Labels: Record<string, string> };
        const c: FakeContainer = {
          Id: `n${containers.length}`.padEnd(64, "0"),
          Names: [`/${url.searchParams.get("name")}`],
          Created: 1_800_000_000 + containers.length,
          State: "created",
          Labels: body.Labels,
          NetworkSettings: { Networks: { taskmaster_default: { IPAddress: `172.18.0.${nextIp++}` } } },
        };
        containers.push(c);
        return send(201, { Id: c.Id, Warnings: [] });
      }
      if ((m = /^\/v1\.41\/containers\/([^/]+)(\/(start|stop|kill))?$/.exec(url.pathname))) {
        const c = byId(m[1]!);
        if (!c) return send(404, { message: "No such container" });
        if (req.method === "POST" && m[3] === "start") c.State = "running";
        else if (req.method === "POST" && (m[3] === "stop" || m[3] === "kill")) c.State = "exited";
        else if (req.method === "DELETE" && !m[3]) containers.splice(containers.indexOf(c), 1);
        else return send(405, { message: "unexpected" });
        return send(204);
      }
      send(404, { message: `page not found: ${req.method} ${url.pathname}` });
    });
  });
  return { server, requests, containers, listening: new Promise<void>((r) => server.listen(socketPath, r)) };
}

let dir: string;
let engine: ReturnType<typeof fakeEngine>;
let known: KnownWorker[];
let scaler: WorkerScaler;
const log = createLogger({ json: true, level: "error", write: () => {} });
const calls = () => engine.requests.filter((r) => !(r.method === "GET" && r.path === "/v1.41/containers/json")).map((r) => `${r.method} ${r.path}`);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "docker-scaler-"));
  engine = fakeEngine(join(dir, "docker.sock"));
  await engine.listening;
  known = [
    { id: 101, address: "172.18.0.11:50051" },
    { id: 102, address: "172.18.0.12:50051" },
  ];
  scaler = createDockerWorkerScaler({
    endpoint: dockerEndpointFromHost(`unix://${join(dir, "docker.sock")}`),
    project: "taskmaster",
    knownWorkers: async () => known,
    stopTimeoutSeconds: 40,
    refreshIntervalMs: 0,
    log,
  });
});
afterEach(async () => {
  await scaler.stopAll();
  await new Promise((r) => engine.server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("createDockerWorkerScaler()", () => {
  it("lists the Compose project's worker containers by their labels", async () => {
    await scaler.scale(2);
    const list = engine.requests.find((r) => r.path === "/v1.41/containers/json")!;
    expect(list.method).toBe("GET");
    expect(list.query.get("all")).toBe("true");
    expect(JSON.parse(list.query.get("filters")!)).toEqual({
      label: ["com.docker.compose.project=taskmaster", "com.docker.compose.service=worker"],
    });
    expect(calls()).toEqual([]); // two run already: nothing to do
    expect(scaler.list().map((w) => [w.name, w.instance])).toEqual([
      ["Worker-102", "taskmaster-worker-2"],
      ["Worker-101", "taskmaster-worker-1"],
    ]);
  });

  it("scale() up copies a worker container (image, command, env, labels, restart policy, network) and starts it", async () => {
    await scaler.scale(3);
    const id = engine.containers[2]!.Id;
    expect(calls()).toEqual([
      `GET /v1.41/containers/${engine.containers[1]!.Id}/json`,
      "POST /v1.41/containers/create",
      `POST /v1.41/containers/${id}/start`,
    ]);
    const create = engine.requests.find((r) => r.path === "/v1.41/containers/create")!;
    expect(create.query.get("name")).toBe("taskmaster-worker-3");
    expect(create.body).toEqual({
      Image: "taskmaster:latest",
      Cmd: ["sh", "-c", "exec node --import tsx worker/main.ts"],
      Entrypoint: null,
      Env: ["COORDINATOR=coordinator:8080"],
      WorkingDir: "/app",
      User: "node",
      Labels: labels(3),
      HostConfig: { RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 }, Init: true, NetworkMode: "taskmaster_default" },
      NetworkingConfig: { EndpointsConfig: { taskmaster_default: { Aliases: ["worker"] } } },
    });
  });

  it("scale() down stops the newest containers with the drain timeout, then removes them", async () => {
    await scaler.scale(1);
    const id = engine.containers.find((c) => c.Names[0] === "/taskmaster-worker-2")!.Id;
    await expect.poll(() => calls()).toEqual([`POST /v1.41/containers/${id}/stop`, `DELETE /v1.41/containers/${id}`]);
    expect(engine.requests.find((r) => r.path.endsWith("/stop"))!.query.get("t")).toBe("40");
  });

  it("kill() finds Worker-<id>'s container by the IP the worker advertises and kills it (SIGKILL, the default)", async () => {
    expect(await scaler.kill("Worker-101")).toBe("killed");
    const id = engine.containers.find((c) => c.Names[0] === "/taskmaster-worker-1")!.Id;
    expect(calls()).toEqual([`POST /v1.41/containers/${id}/kill`]);
    expect(engine.requests.at(-2)!.body).toBeUndefined();
  });

  it("kill() says not_found for an unknown worker and not_managed for one outside the project", async () => {
    known.push({ id: 7, address: "10.0.0.9:4000" });
    expect(await scaler.kill("Worker-999")).toBe("not_found");
    expect(await scaler.kill("nonsense")).toBe("not_found");
    expect(await scaler.kill("7")).toBe("not_managed");
    expect(calls()).toEqual([]);
  });

  it("scale() removes containers that were killed before (the count is the running ones)", async () => {
    await scaler.kill("Worker-101");
    const killed = engine.containers.find((c) => c.State === "exited")!.Id;
    engine.requests.length = 0;
    await scaler.scale(1);
    expect(calls()).toEqual([`DELETE /v1.41/containers/${killed}`]);
  });

  it("scale() rejects a negative count, and anything after stopAll()", async () => {
    await expect(scaler.scale(-1)).rejects.toThrow(RangeError);
    await scaler.stopAll();
    await expect(scaler.scale(2)).rejects.toThrow(/shutting down/);
  });

  it("an engine answering an error is an error naming the call", async () => {
    engine.containers.length = 0;
    await expect(scaler.scale(1)).rejects.toThrow(/No container of service "worker" in Compose project "taskmaster"/);
  });
});

describe("dockerEndpointFromHost()", () => {
  it("reads DOCKER_HOST as the Docker CLI does (unix socket by default, or tcp)", () => {
    expect(dockerEndpointFromHost(undefined)).toEqual({ socketPath: "/var/run/docker.sock" });
    expect(dockerEndpointFromHost("unix:///run/user/1000/docker.sock")).toEqual({ socketPath: "/run/user/1000/docker.sock" });
    expect(dockerEndpointFromHost("tcp://docker:2375")).toEqual({ url: "http://docker:2375" });
    expect(() => dockerEndpointFromHost("ssh://host")).toThrow(/DOCKER_HOST/);
  });
});
