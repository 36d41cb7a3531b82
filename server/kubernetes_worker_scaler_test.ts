// The kubernetes scaler against a stand-in API server (node:http on TCP) that records every request.
// Endpoints as the Kubernetes API reference documents them: patchAppsV1NamespacedDeploymentScale
// `PATCH /apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale` (merge patch),
// listCoreV1NamespacedPod `GET /api/v1/namespaces/{namespace}/pods?labelSelector=`,
// deleteCoreV1NamespacedPod `DELETE /api/v1/namespaces/{namespace}/pods/{name}?gracePeriodSeconds=`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../shared/mod.ts";
import type { KnownWorker } from "./docker_worker_scaler.ts";
import { createKubernetesWorkerScaler, inClusterEndpoint, SERVICE_ACCOUNT_DIR } from "./kubernetes_worker_scaler.ts";
import type { WorkerScaler } from "./worker_scaler.ts";

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

const pods = [
  { metadata: { name: "taskmaster-worker-7d9f-abcde", creationTimestamp: "2025-01-01T00:00:00Z" }, status: { phase: "Running", podIP: "10.1.0.5" } },
  { metadata: { name: "taskmaster-worker-7d9f-fghij", creationTimestamp: "2025-01-01T00:00:01Z" }, status: { phase: "Running", podIP: "10.1.0.6" } },
  { metadata: { name: "taskmaster-worker-7d9f-gone", deletionTimestamp: "2025-01-01T00:01:00Z" }, status: { phase: "Running", podIP: "10.1.0.7" } },
];

let requests: Recorded[];
let server: http.Server;
let scaler: WorkerScaler;
let token: string;
let known: KnownWorker[];
const log = createLogger({ json: true, level: "error", write: () => {} });
const writes = () => requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);

beforeEach(async () => {
  requests = [];
  token = "token-1";
  known = [
    { id: 11, address: "10.1.0.5:50051" },
    { id: 12, address: "10.1.0.6:50051" },
    { id: 13, address: "10.1.0.7:50051" },
  ];
  server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://k8s");
      requests.push({ method: req.method ?? "", path: url.pathname, query: url.searchParams, headers: req.headers, body: text ? JSON.parse(text) : undefined });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { kind: "Status", message: "Unauthorized" });
      if (req.method === "GET" && url.pathname === "/api/v1/namespaces/jobs/pods") return send(200, { kind: "PodList", items: pods });
      if (req.method === "PATCH" && url.pathname === "/apis/apps/v1/namespaces/jobs/deployments/taskmaster-worker/scale") {
        return send(200, { kind: "Scale", spec: (JSON.parse(text) as { spec: unknown }).spec });
      }
      if (req.method === "DELETE" && url.pathname.startsWith("/api/v1/namespaces/jobs/pods/")) return send(200, { kind: "Pod" });
      send(404, { kind: "Status", message: `not found: ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const files: Record<string, string> = { "/secrets/token": "token-1\n" };
  scaler = createKubernetesWorkerScaler({
    endpoint: inClusterEndpoint({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tokenFile: "/secrets/token",
      readFile: (path) => {
        if (path === "/secrets/token") return files[path]!.replace("token-1", token);
        throw new Error(`unexpected read of ${path}`);
      },
    }),
    namespace: "jobs",
    knownWorkers: async () => known,
    refreshIntervalMs: 0,
    log,
  });
});
afterEach(async () => {
  await scaler.stopAll();
  await new Promise((r) => server.close(r));
});

describe("createKubernetesWorkerScaler()", () => {
  it("scale() patches the worker Deployment's scale subresource with a merge patch", async () => {
    await scaler.scale(7);
    const patch = requests.find((r) => r.method === "PATCH")!;
    expect(patch.path).toBe("/apis/apps/v1/namespaces/jobs/deployments/taskmaster-worker/scale");
    expect(patch.headers["content-type"]).toBe("application/merge-patch+json");
    expect(patch.body).toEqual({ spec: { replicas: 7 } });
    expect(writes()).toEqual(["PATCH /apis/apps/v1/namespaces/jobs/deployments/taskmaster-worker/scale"]);
  });

  it("sends the service account token, read again for every request (tokens rotate)", async () => {
    await scaler.scale(2);
    token = "token-2";
    await scaler.scale(3);
    expect(requests.filter((r) => r.method === "PATCH").map((r) => r.headers.authorization)).toEqual(["Bearer token-1", "Bearer token-2"]);
  });

  it("lists worker Pods by label selector and shows those a known worker advertises the IP of", async () => {
    await scaler.scale(2);
    const list = requests.find((r) => r.method === "GET")!;
    expect(list.path).toBe("/api/v1/namespaces/jobs/pods");
    expect(list.query.get("labelSelector")).toBe("app.kubernetes.io/name=taskmaster,app.kubernetes.io/component=worker");
    // The third Pod is terminating: not listed.
    expect(scaler.list().map((w) => [w.name, w.instance])).toEqual([
      ["Worker-11", "taskmaster-worker-7d9f-abcde"],
      ["Worker-12", "taskmaster-worker-7d9f-fghij"],
    ]);
  });

  it("kill() deletes Worker-<id>'s Pod, found by its IP, with grace period 0", async () => {
    expect(await scaler.kill("Worker-12")).toBe("killed");
    expect(writes()).toEqual(["DELETE /api/v1/namespaces/jobs/pods/taskmaster-worker-7d9f-fghij"]);
    expect(requests.find((r) => r.method === "DELETE")!.query.get("gracePeriodSeconds")).toBe("0");
  });

  it("kill() says not_found for an unknown worker and not_managed for one without a running Pod", async () => {
    expect(await scaler.kill("Worker-99")).toBe("not_found");
    expect(await scaler.kill("13")).toBe("not_managed"); // its Pod is terminating already
    expect(writes()).toEqual([]);
  });

  it("an API error is an error naming the call and the answer", async () => {
    token = "revoked";
    const stale = createKubernetesWorkerScaler({
      endpoint: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, headers: () => ({ authorization: "Bearer wrong" }) },
      namespace: "jobs",
      knownWorkers: async () => known,
      refreshIntervalMs: 0,
      log,
    });
    await expect(stale.scale(1)).rejects.toThrow(/PATCH \/apis\/apps\/v1\/namespaces\/jobs\/deployments\/taskmaster-worker\/scale answered 401: Unauthorized/);
    await stale.stopAll();
  });

  it("refuses a namespace or Deployment name that is not a DNS-1123 name", () => {
    expect(() =>
      createKubernetesWorkerScaler({ endpoint: { url: "http://x" }, namespace: "../etc", knownWorkers: async () => [], log }),
    ).toThrow(/'namespace' must be a DNS-1123 name/);
  });
});

describe("inClusterEndpoint()", () => {
  it("uses KUBERNETES_SERVICE_HOST/PORT with the service account's CA and token", () => {
    const read: string[] = [];
    const endpoint = inClusterEndpoint({
      serviceHost: "10.96.0.1",
      servicePort: "443",
      readFile: (path) => {
        read.push(path);
        return path.endsWith("ca.crt") ? "PEM" : "tok\n";
      },
    });
    expect(endpoint.url).toBe("https://10.96.0.1:443");
    expect(endpoint.ca).toBe("PEM");
    expect(endpoint.headers?.()).toEqual({ authorization: "Bearer tok" });
    expect(read).toEqual([`${SERVICE_ACCOUNT_DIR}/ca.crt`, `${SERVICE_ACCOUNT_DIR}/token`]);
  });

  it("says what to set outside a Pod", () => {
    expect(() => inClusterEndpoint({ readFile: () => "" })).toThrow(/KUBERNETES_API_URL/);
  });
});
