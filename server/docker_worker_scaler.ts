import type { Logger } from "../shared/mod.ts";
import { workerName } from "./_views.ts";
import { type ApiEndpoint, apiCall, hostOf } from "./_scaler_http.ts";
import { managedWorkersOf } from "./_scaler_instances.ts";
import {
  checkScaleRequest,
  parseWorkerName,
  WorkerScalingDisabledError,
  type KillResult,
  type ManagedWorker,
  type WorkerScaler,
} from "./worker_scaler.ts";

/** A worker the database knows: its id and the "host:port" it advertised in heartbeats. */
export interface KnownWorker {
  id: number;
  address: string;
}

/** Options for {@linkcode createDockerWorkerScaler}. */
export interface DockerWorkerScalerOptions {
  /** The Docker Engine API: `{ socketPath: "/var/run/docker.sock" }` or `{ url: "http://host:2375" }`. */
  endpoint: ApiEndpoint;
  /** The Compose project whose workers this scales (label `com.docker.compose.project`). */
  project: string;
  /** The Compose service of the workers (label `com.docker.compose.service`). Default "worker". */
  service?: string;
  /** Engine API version prefix. Default "v1.41" (Docker Engine 20.10 and later). */
  apiVersion?: string;
  /** Workers the database knows (not OFFLINE), to map "Worker-<id>" to a container by its IP. */
  knownWorkers: () => Promise<KnownWorker[]>;
  /** Seconds a stopped worker may drain before the engine kills it (`?t=`). Default 40. */
  stopTimeoutSeconds?: number;
  /** How often `list()`'s snapshot is refreshed, ms. Default 5000; 0 = only after scale and kill. */
  refreshIntervalMs?: number;
  log: Logger;
  /** Adds a line to the activity log. */
  activity?: (level: "info" | "success" | "error", msg: string) => void;
}

/** The fields of a ContainerList entry this scaler reads. */
interface ContainerSummary {
  Id: string;
  Names?: string[];
  Created?: number;
  State?: string;
  Labels?: Record<string, string>;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** The fields of a ContainerInspect answer copied into a new worker container. */
interface ContainerInspect {
  Config?: {
    Image?: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    Labels?: Record<string, string>;
    Healthcheck?: unknown;
  };
  HostConfig?: { RestartPolicy?: unknown; Init?: boolean | null; NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> };
}

const PROJECT_LABEL = "com.docker.compose.project";
const SERVICE_LABEL = "com.docker.compose.service";
const NUMBER_LABEL = "com.docker.compose.container-number";

const ipsOf = (c: ContainerSummary) =>
  Object.values(c.NetworkSettings?.Networks ?? {})
    .map((n) => n.IPAddress)
    .filter((ip): ip is string => typeof ip === "string" && ip !== "");

/**
 * A {@linkcode WorkerScaler} for Docker Compose: it scales the `worker` service of a Compose project
 * through the Docker Engine API (on its unix socket, or TCP), never through a shell.
 *
 * - `scale(n)`: lists the service's containers (`GET /containers/json` filtered by the Compose
 *   labels), creates and starts new ones copied from an existing worker container (image, command,
 *   environment, labels, restart policy, networks: `POST /containers/create`, `POST
 *   /containers/{id}/start`), or stops the newest (`POST /containers/{id}/stop?t=`, the worker drains
 *   on SIGTERM) and removes them (`DELETE /containers/{id}`). The count then holds through the
 *   containers' restart policy; `docker compose up --scale worker=N` and this agree on what exists.
 * - `kill("Worker-<id>")`: finds the worker's address in the database, the container with that IP,
 *   and `POST /containers/{id}/kill` (SIGKILL; an explicitly killed container is not restarted).
 * - `list()`: the running worker containers that a known worker advertises the IP of.
 * - `stopAll()`: stops refreshing; the containers are Compose's and keep running.
 */
export function createDockerWorkerScaler(options: DockerWorkerScalerOptions): WorkerScaler {
  const service = options.service ?? "worker";
  const version = options.apiVersion ?? "v1.41";
  const stopTimeoutSeconds = options.stopTimeoutSeconds ?? 40;
  const api = (method: string, path: string, body?: unknown) =>
    apiCall(options.endpoint, method, `/${version}${path}`, body === undefined ? {} : { body });
  const log = options.log;
  let snapshot: ManagedWorker[] = [];
  let closed = false;

  /** The service's containers (running or not), newest first. */
  const containers = async (): Promise<ContainerSummary[]> => {
    const filters = JSON.stringify({ label: [`${PROJECT_LABEL}=${options.project}`, `${SERVICE_LABEL}=${service}`] });
    const list = (await api("GET", `/containers/json?all=true&filters=${encodeURIComponent(filters)}`)) as ContainerSummary[];
    return [...list].sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0));
  };

  const refresh = async (): Promise<ContainerSummary[]> => {
    const [all, known] = await Promise.all([containers(), options.knownWorkers()]);
    const running = all.filter((c) => c.State === "running");
    snapshot = managedWorkersOf(running, known, (c) => ({
      ips: ipsOf(c),
      startedAt: new Date((c.Created ?? 0) * 1000).toISOString(),
      instance: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
    }));
    return all;
  };

  const timer =
    (options.refreshIntervalMs ?? 5000) > 0
      ? setInterval(() => {
          refresh().catch((error: unknown) => log.debug("could not refresh the worker containers", { error: String(error) }));
        }, options.refreshIntervalMs ?? 5000)
      : undefined;
  timer?.unref();
  void refresh().catch((error: unknown) => log.warn("cannot reach the Docker Engine API", { error: String(error) }));

  /** Creates and starts one worker container copied from `template`, numbered `number`. */
  const startCopy = async (template: ContainerInspect, number: number): Promise<string> => {
    const config = template.Config ?? {};
    if (!config.Image) throw new Error("the worker container to copy has no image");
    const name = `${options.project}-${service}-${number}`;
    const networks = Object.keys(template.NetworkSettings?.Networks ?? {});
    const created = (await api("POST", `/containers/create?name=${encodeURIComponent(name)}`, {
      Image: config.Image,
      Cmd: config.Cmd ?? null,
      Entrypoint: config.Entrypoint ?? null,
      Env: config.Env ?? [],
      WorkingDir: config.WorkingDir ?? "",
      User: config.User ?? "",
      Healthcheck: config.Healthcheck ?? undefined,
      Labels: { ...config.Labels, [NUMBER_LABEL]: String(number) },
      HostConfig: {
        RestartPolicy: template.HostConfig?.RestartPolicy ?? { Name: "unless-stopped" },
        Init: template.HostConfig?.Init ?? null,
        NetworkMode: template.HostConfig?.NetworkMode ?? networks[0] ?? "default",
      },
      NetworkingConfig: {
        EndpointsConfig: Object.fromEntries(networks.map((n) => [n, { Aliases: [service] }])),
      },
    })) as { Id: string };
    await api("POST", `/containers/${encodeURIComponent(created.Id)}/start`);
    log.info("worker container started", { container: name, id: created.Id.slice(0, 12) });
    options.activity?.("info", `Starting worker container ${name}`);
    return created.Id;
  };

  /** Stops (drain) then removes a worker container, in the background: scale does not wait for a drain. */
  const stopAndRemove = (c: ContainerSummary) => {
    const id = encodeURIComponent(c.Id);
    const name = (c.Names?.[0] ?? c.Id).replace(/^\//, "");
    options.activity?.("info", `Stopping worker container ${name}`);
    void (async () => {
      await api("POST", `/containers/${id}/stop?t=${stopTimeoutSeconds}`);
      await api("DELETE", `/containers/${id}`);
      log.info("worker container stopped and removed", { container: name });
    })().catch((error: unknown) => log.error("could not stop a worker container", { container: name, error: String(error) }));
  };

  return {
    kind: "docker",
    scale: async (count) => {
      checkScaleRequest(count, closed);
      const all = await containers();
      const running = all.filter((c) => c.State === "running");
      if (count < running.length) {
        for (const c of running.slice(0, running.length - count)) stopAndRemove(c);
      } else if (count > running.length) {
        const model = all[0];
        if (!model) {
          throw new Error(
            `No container of service "${service}" in Compose project "${options.project}" to copy: start one with docker compose up --scale ${service}=1`,
          );
        }
        const template = (await api("GET", `/containers/${encodeURIComponent(model.Id)}/json`)) as ContainerInspect;
        let number = Math.max(0, ...all.map((c) => Number(c.Labels?.[NUMBER_LABEL] ?? 0) || 0));
        for (let i = running.length; i < count; i++) await startCopy(template, ++number);
      }
      // Containers killed earlier (exited, not restarted) are removed: the count is the running ones.
      for (const c of all.filter((c) => c.State === "exited" || c.State === "dead")) {
        await api("DELETE", `/containers/${encodeURIComponent(c.Id)}`).catch((error: unknown) =>
          log.warn("could not remove an exited worker container", { id: c.Id.slice(0, 12), error: String(error) }),
        );
      }
      await refresh().catch(() => {});
    },
    kill: async (name): Promise<KillResult> => {
      const id = parseWorkerName(name);
      if (id === null) return "not_found";
      const worker = (await options.knownWorkers()).find((w) => w.id === id);
      if (!worker) return "not_found";
      const host = hostOf(worker.address);
      const container = (await containers()).find((c) => c.State === "running" && ipsOf(c).includes(host));
      if (!container) return "not_managed";
      log.warn("killing worker container (SIGKILL)", { worker_id: id, container: container.Id.slice(0, 12) });
      options.activity?.("error", `Killing ${workerName(id)} (container ${container.Id.slice(0, 12)}, SIGKILL)`);
      // ContainerKill: the default signal is SIGKILL.
      await api("POST", `/containers/${encodeURIComponent(container.Id)}/kill`);
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

/**
 * Where DOCKER_HOST points: `unix:///path` (default `/var/run/docker.sock`) or `tcp://host:port`
 * (plain HTTP; TLS is not supported: put the socket in the container instead).
 */
export function dockerEndpointFromHost(dockerHost: string | undefined): ApiEndpoint {
  const value = dockerHost?.trim() || "unix:///var/run/docker.sock";
  if (value.startsWith("unix://")) return { socketPath: value.slice("unix://".length) };
  if (value.startsWith("tcp://")) return { url: `http://${value.slice("tcp://".length).replace(/\/+$/, "")}` };
  if (value.startsWith("/")) return { socketPath: value };
  throw new RangeError(`Cannot reach Docker as 'DOCKER_HOST' must be unix:///path or tcp://host:port: current value is "${value}"`);
}
