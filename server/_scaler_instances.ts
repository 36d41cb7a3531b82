// Private to server/: how the Docker and Kubernetes worker scalers tell which of their instances
// (containers, pods) is which worker.
import { hostOf } from "./_scaler_http.ts";
import { workerName } from "./_views.ts";
import type { ManagedWorker } from "./worker_scaler.ts";

/** What a scaler knows of one running instance. */
export interface InstanceFacts {
  /** Its IP addresses. */
  ips: string[];
  /** When it was created, ISO 8601. */
  startedAt: string;
  /** Its name on the platform (container or pod name). */
  instance: string;
}

/**
 * The workers `instances` run: each instance is matched to the known worker whose advertised
 * address has one of the instance's IPs as its host; an instance no worker matches (not registered
 * yet) is left out.
 */
export function managedWorkersOf<Instance>(
  instances: Instance[],
  known: { id: number; address: string }[],
  facts: (instance: Instance) => InstanceFacts,
): ManagedWorker[] {
  const byHost = new Map(known.map((w) => [hostOf(w.address), w]));
  return instances.flatMap((instance) => {
    const { ips, startedAt, instance: name } = facts(instance);
    const worker = ips.map((ip) => byHost.get(ip)).find((w) => w !== undefined);
    if (!worker) return [];
    return [{
      id: worker.id,
      name: workerName(worker.id),
      pid: 0,
      startedAt,
      ready: true,
      address: worker.address,
      stopping: false,
      restarts: 0,
      instance: name,
    }];
  });
}
