// deploy/kubernetes: every manifest parses, validates against the Kubernetes and KEDA JSON schemas that
// npm ships (kubernetes-models 5 = the Kubernetes OpenAPI schemas; @kubernetes-models/keda = KEDA's
// CRD schemas, both checked with ajv inside their `validate()`), and holds together: selectors match
// template labels, Services target ports that exist, probes name ports that exist, the ScaledObject
// scales the worker Deployment with the query the README shows. No cluster is needed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { imageCommand, repoRoot } from "./_process.ts";

const dir = join(repoRoot, "deploy", "kubernetes");
const KEY = "apiVersion/kind";

// deno-lint-ignore no-explicit-any
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: any; stringData?: any };

/** The schema-checked model of each kind the manifests use. */
const models: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
};

const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
const manifests: { file: string; doc: Manifest }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    return { file, doc: d.toJS() as Manifest };
  }),
);
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.doc.kind === kind && m.doc.metadata.name === name)?.doc;
  if (!found) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return found;
};
// deno-lint-ignore no-explicit-any
const containerOf = (d: Manifest): any => d.spec.template.spec.containers[0];
// deno-lint-ignore no-explicit-any
const portNames = (d: Manifest) => new Set(d.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).flatMap((p: any) => [p.name, p.containerPort])));

describe(`deploy/kubernetes (${KEY} checked against the kubernetes-models and KEDA schemas)`, () => {
  it("every manifest parses and names apiVersion, kind and metadata.name", () => {
    expect(manifests.length).toBeGreaterThanOrEqual(14);
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it("every manifest validates against its Kubernetes or KEDA schema", () => {
    for (const { file, doc } of manifests) {
      const Model = models[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: no schema for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc as never).validate(), `${file} ${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it("the schema check catches a mistake (a port that is not a number)", () => {
    const broken = structuredClone(find("Deployment", "taskmaster-worker"));
    containerOf(broken).ports[0].containerPort = "fifty";
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it("kustomization.yaml lists every manifest file", () => {
    const kustomization = parseAllDocuments(readFileSync(join(dir, "kustomization.yaml"), "utf8"))[0]!.toJS() as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
  });

  it("runs server, coordinator and worker Deployments from the one image as npm start does, each selector matching its template's labels", async () => {
    for (const role of ["server", "coordinator", "worker"] as const) {
      const d = find("Deployment", `taskmaster-${role}`);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels as Record<string, string>)) {
        expect(d.spec.template.metadata.labels[k], `${role} ${k}`).toBe(v);
      }
      const c = containerOf(d);
      expect(c.image).toBe("taskmaster");
      expect(c.command).toEqual(await imageCommand(role));
      expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, role).toBeTruthy();
      expect(d.spec.template.spec.securityContext.runAsNonRoot, role).toBe(true);
    }
  });

  it("probes the server's /healthz and the coordinator's and worker's gRPC ports, on ports the containers declare", () => {
    const server = containerOf(find("Deployment", "taskmaster-server"));
    expect(server.readinessProbe.httpGet.path).toBe("/healthz");
    expect(server.livenessProbe.httpGet.path).toBe("/healthz");
    for (const role of ["server", "coordinator", "worker"]) {
      const d = find("Deployment", `taskmaster-${role}`);
      const c = containerOf(d);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
        expect(portNames(d).has(port), `${role} probe port ${port}`).toBe(true);
        if (role !== "server") expect(probe.tcpSocket, role).toBeDefined();
      }
    }
  });

  it("Services select their Deployment's pods and target ports those pods declare; the coordinator's is headless", () => {
    for (const role of ["server", "coordinator"]) {
      const svc = find("Service", `taskmaster-${role}`);
      const d = find("Deployment", `taskmaster-${role}`);
      for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(d.spec.template.metadata.labels[k]).toBe(v);
      for (const p of svc.spec.ports as { targetPort: string | number }[]) expect(portNames(d).has(p.targetPort), `${role} ${p.targetPort}`).toBe(true);
    }
    expect(find("Service", "taskmaster-coordinator").spec.clusterIP).toBe("None");
    // Workers reach every coordinator through that headless Service.
    const workerEnv = containerOf(find("Deployment", "taskmaster-worker")).env as { name: string; value?: string; valueFrom?: unknown }[];
    const port = find("Service", "taskmaster-coordinator").spec.ports[0].port;
    expect(workerEnv.find((e) => e.name === "COORDINATOR")?.value).toBe(`taskmaster-coordinator:${port}`);
    expect(workerEnv.find((e) => e.name === "WORKER_ADDRESS")?.valueFrom).toEqual({ fieldRef: { fieldPath: "status.podIP" } });
  });

  it("gives workers a grace period longer than their drain, and a PodDisruptionBudget", () => {
    const worker = find("Deployment", "taskmaster-worker");
    const drainMs = Number(find("ConfigMap", "taskmaster-config").data.DRAIN_TIMEOUT_MS);
    expect(drainMs).toBe(30_000);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drainMs / 1000);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeLessThanOrEqual(drainMs / 1000 + 15);
    const pdb = find("PodDisruptionBudget", "taskmaster-worker");
    expect(pdb.spec.selector.matchLabels).toEqual(worker.spec.selector.matchLabels);
  });

  it("reads settings from the ConfigMap and the database from the Secret", () => {
    expect(find("Secret", "taskmaster-database").stringData.DATABASE_URL).toMatch(/^postgresql:\/\//);
    for (const role of ["server", "coordinator"]) {
      const from = containerOf(find("Deployment", `taskmaster-${role}`)).envFrom;
      expect(from).toEqual([{ configMapRef: { name: "taskmaster-config" } }, { secretRef: { name: "taskmaster-database" } }]);
    }
    // A worker never touches the database: it gets no database credentials.
    expect(containerOf(find("Deployment", "taskmaster-worker")).envFrom).toEqual([{ configMapRef: { name: "taskmaster-config" } }]);
  });

  it("migrates with npm run db:migrate in a Job", () => {
    const job = find("Job", "taskmaster-migrate");
    expect(job.spec.template.spec.containers[0].command.join(" ")).toBe("npm run db:migrate");
    expect(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).scripts["db:migrate"]).toBeDefined();
  });

  it("scales workers with KEDA's postgresql scaler on the due, unclaimed tasks", () => {
    const so = find("ScaledObject", "taskmaster-worker");
    expect(so.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "taskmaster-worker" });
    const [trigger] = so.spec.triggers;
    expect(trigger.type).toBe("postgresql");
    expect(trigger.metadata.query).toBe("SELECT count(*) FROM tasks WHERE status = 'SCHEDULED' AND scheduled_at <= now()");
    const auth = find("TriggerAuthentication", trigger.authenticationRef.name);
    expect(auth.spec.secretTargetRef[0]).toEqual({ parameter: "connection", name: "taskmaster-database", key: "DATABASE_URL" });
  });

  it("lets the server's service account scale the worker Deployment and delete worker pods, nothing more", () => {
    const server = find("Deployment", "taskmaster-server");
    expect(server.spec.template.spec.serviceAccountName).toBe("taskmaster-server");
    const env = containerOf(server).env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === "WORKER_SCALER")?.value).toBe("kubernetes");
    expect(env.find((e) => e.name === "KUBERNETES_WORKER_DEPLOYMENT")?.value).toBe("taskmaster-worker");
    const role = find("Role", "taskmaster-worker-scaler");
    expect(role.spec).toBeUndefined();
    const rules = (role as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }).rules;
    expect(rules).toEqual([
      expect.objectContaining({ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "patch", "update"] }),
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "delete"] },
    ]);
    const binding = find("RoleBinding", "taskmaster-worker-scaler") as unknown as { roleRef: { name: string }; subjects: { name: string }[] };
    expect(binding.roleRef.name).toBe("taskmaster-worker-scaler");
    expect(binding.subjects[0]!.name).toBe("taskmaster-server");
  });
});
