import type { Logger } from "../shared/mod.ts";
import { workerName } from "./_views.ts";
import { type ApiEndpoint, apiCall, hostOf } from "./_scaler_http.ts";
import { managedWorkersOf } from "./_scaler_instances.ts";
import type { KnownWorker } from "./docker_worker_scaler.ts";
import {
  checkScaleRequest,
  parseWorkerName,
  WorkerScalingDisabledError,
  type KillResult,
  type ManagedWorker,
  type WorkerScaler,
} from "./worker_scaler.ts";

/** Options for {@linkcode createKubernetesWorkerScaler}. */
export interface KubernetesWorkerScalerOptions {
  /** The API server, with the service account's bearer token and CA (see {@linkcode inClusterEndpoint}). */
  endpoint: ApiEndpoint;
  /** The namespace of the worker Deployment (the service account's own, in cluster). */
  namespace: string;
  /** The worker Deployment's name. Default "taskmaster-worker". */
  deployment?: string;
  /** A label selector matching the worker Pods. Default "app.kubernetes.io/name=taskmaster,app.kubernetes.io/component=worker". */
  podSelector?: string;
  /** Workers the database knows (not OFFLINE), to map "Worker-<id>" to a Pod by its IP. */
  knownWorkers: () => Promise<KnownWorker[]>;
  /** How often `list()`'s snapshot is refreshed, ms. Default 5000; 0 = only after scale and kill. */
  refreshIntervalMs?: number;
  log: Logger;
  /** Adds a line to the activity log. */
  activity?: (level: "info" | "success" | "error", msg: string) => void;
}

/** The fields of a Pod this scaler reads. */
interface Pod {
  metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string };
  status?: { phase?: string; podIP?: string; podIPs?: { ip?: string }[] };
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * A {@linkcode WorkerScaler} for Kubernetes, through the API server with a service account
 * (RBAC: deployments/scale get+patch, pods list+delete; deploy/kubernetes/rbac.yaml):
 *
 * - `scale(n)`: `PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale` with the merge patch
 *   `{"spec":{"replicas":n}}` (patchAppsV1NamespacedDeploymentScale). The Deployment keeps the count;
 *   when a KEDA ScaledObject manages it, KEDA sets the count back on its next poll.
 * - `kill("Worker-<id>")`: finds the worker's address in the database, the worker Pod with that IP
 *   (`GET /api/v1/namespaces/{ns}/pods?labelSelector=`), and deletes it at once:
 *   `DELETE /api/v1/namespaces/{ns}/pods/{pod}?gracePeriodSeconds=0` (deleteCoreV1NamespacedPod; no
 *   drain, its tasks go to other workers). Unlike the local and docker backends, the Deployment then
 *   starts a replacement Pod: the count holds.
 * - `list()`: the running worker Pods that a known worker advertises the IP of.
 * - `stopAll()`: stops refreshing; the Pods are the Deployment's and keep running.
 */
export function createKubernetesWorkerScaler(options: KubernetesWorkerScalerOptions): WorkerScaler {
  const deployment = options.deployment ?? "taskmaster-worker";
  const selector = options.podSelector ?? "app.kubernetes.io/name=taskmaster,app.kubernetes.io/component=worker";
  for (const [what, value] of [["namespace", options.namespace], ["deployment", deployment]] as const) {
    if (!NAME.test(value)) {
      throw new RangeError(`Cannot scale on Kubernetes as '${what}' must be a DNS-1123 name: current value is "${value}"`);
    }
  }
  const ns = encodeURIComponent(options.namespace);
  const log = options.log;
  let snapshot: ManagedWorker[] = [];
  let closed = false;

  const pods = async (): Promise<Pod[]> => {
    const list = (await apiCall(
      options.endpoint,
      "GET",
      `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
    )) as { items?: Pod[] };
    return (list.items ?? []).filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
  };
  const ipsOf = (p: Pod) =>
    [p.status?.podIP, ...(p.status?.podIPs ?? []).map((i) => i.ip)].filter((ip): ip is string => typeof ip === "string" && ip !== "");

  const refresh = async () => {
    const [running, known] = await Promise.all([pods(), options.knownWorkers()]);
    snapshot = managedWorkersOf(running, known, (p) => ({
      ips: ipsOf(p),
      startedAt: p.metadata?.creationTimestamp ?? new Date(0).toISOString(),
      instance: p.metadata?.name ?? "",
    }));
  };

  const timer =
    (options.refreshIntervalMs ?? 5000) > 0
      ? setInterval(() => {
          refresh().catch((error: unknown) => log.debug("could not refresh the worker pods", { error: String(error) }));
        }, options.refreshIntervalMs ?? 5000)
      : undefined;
  timer?.unref();
  void refresh().catch((error: unknown) => log.warn("cannot reach the Kubernetes API server", { error: String(error) }));

  return {
    kind: "kubernetes",
    scale: async (count) => {
      checkScaleRequest(count, closed);
      await apiCall(options.endpoint, "PATCH", `/apis/apps/v1/namespaces/${ns}/deployments/${encodeURIComponent(deployment)}/scale`, {
        contentType: "application/merge-patch+json",
        body: { spec: { replicas: count } },
      });
      log.info("worker deployment scaled", { deployment, replicas: count });
      options.activity?.("info", `Scaling deployment ${deployment} to ${count} workers`);
      await refresh().catch(() => {});
    },
    kill: async (name): Promise<KillResult> => {
      const id = parseWorkerName(name);
      if (id === null) return "not_found";
      const worker = (await options.knownWorkers()).find((w) => w.id === id);
      if (!worker) return "not_found";
      const host = hostOf(worker.address);
      const pod = (await pods()).find((p) => ipsOf(p).includes(host));
      const podName = pod?.metadata?.name;
      if (!podName) return "not_managed";
      log.warn("deleting worker pod at once (grace period 0)", { worker_id: id, pod: podName });
      options.activity?.("error", `Killing ${workerName(id)} (pod ${podName}, grace period 0)`);
      await apiCall(options.endpoint, "DELETE", `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(podName)}?gracePeriodSeconds=0`);
      await refresh().catch(() => {});
      return "killed";
    },
    list: () => snapshot.map((w) => ({ ...w })),
    stopAll: async () => {
      closed = true;
      if (timer) clearInterval(timer);
    },
  };
}

/** Files and variables {@linkcode inClusterEndpoint} reads; each may be overridden (tests, out of cluster). */
export interface InClusterSettings {
  /** KUBERNETES_API_URL, else `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. */
  apiUrl?: string | undefined;
  serviceHost?: string | undefined;
  servicePort?: string | undefined;
  /** KUBERNETES_TOKEN_FILE. Default /var/run/secrets/kubernetes.io/serviceaccount/token. */
  tokenFile?: string | undefined;
  /** KUBERNETES_CA_FILE. Default /var/run/secrets/kubernetes.io/serviceaccount/ca.crt (skipped for http://). */
  caFile?: string | undefined;
  /** Reads a file (node:fs readFileSync in main.ts). */
  readFile: (path: string) => string;
}

/** The service account's directory in every Pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The API server as a Pod reaches it: the in-cluster URL, its CA, and the service account token,
 * read again before every request (projected tokens are rotated).
 */
export function inClusterEndpoint(settings: InClusterSettings): ApiEndpoint {
  const url =
    settings.apiUrl ??
    (settings.serviceHost
      ? `https://${settings.serviceHost.includes(":") ? `[${settings.serviceHost}]` : settings.serviceHost}:${settings.servicePort ?? "443"}`
      : undefined);
  if (!url) {
    throw new RangeError(
      "Cannot reach the Kubernetes API server: KUBERNETES_SERVICE_HOST is not set (not in a Pod?); set KUBERNETES_API_URL",
    );
  }
  const tokenFile = settings.tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`;
  const ca = url.startsWith("https:") ? settings.readFile(settings.caFile ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`) : undefined;
  return {
    url,
    ca,
    headers: () => ({ authorization: `Bearer ${settings.readFile(tokenFile).trim()}` }),
  };
}
