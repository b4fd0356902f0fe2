import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as apps from "kubernetes-models/apps/v1";
import * as autoscaling from "kubernetes-models/autoscaling/v2";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as core from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { serviceAccess } from "../../app/access.js";
import { OPERATIONS } from "../../app/surface/operations.js";
import { CONFIG_VARIABLES } from "../../platform/config.js";
import { isObject, type JsonObject } from "../../test-support/deploy-files.js";

/**
 * Checks the Kubernetes manifests without a cluster: every object against the Kubernetes schemas
 * (kubernetes-models), each kustomization against the files beside it, and the app Deployments
 * against the service itself (probe routes, port, configuration names).
 */

const HERE = fileURLToPath(new URL(".", import.meta.url));
const APP_IMAGE = "parking-reservations";
const APP_ROLES = { "command-api": "command-api", "query-api": "query-api", projector: "projector" };
const KNOWN_VARIABLES = new Set(CONFIG_VARIABLES.map((v) => v.name));
const defaultOf = (name: string) => CONFIG_VARIABLES.find((v) => v.name === name)?.default;
/** Routes every role serves to anyone: what a probe may ask for. */
const PROBE_ROUTES = new Set(
  OPERATIONS.filter(
    (o) => o.side === "app" && o.method === "get" && serviceAccess("GET", o.path) === "anonymous",
  ).map((o) => o.path),
);

interface Manifest {
  readonly file: string;
  readonly object: JsonObject;
}

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });

function parseFile(file: string): JsonObject[] {
  return parseAllDocuments(readFileSync(file, "utf8")).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return [];
    if (!isObject(value)) throw new Error(`${file}: a document is not a map`);
    return [value];
  });
}

const files = yamlFiles(HERE).sort();
const kustomizationFiles = files.filter((f) => path.basename(f) === "kustomization.yaml");
const kustomizations = new Map(kustomizationFiles.map((f) => [f, parseFile(f)[0] as JsonObject]));
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const patchFiles = new Set(
  [...kustomizations].flatMap(([file, k]) =>
    (Array.isArray(k.patches) ? k.patches : [])
      .map((p) => (isObject(p) && typeof p.path === "string" ? path.resolve(path.dirname(file), p.path) : ""))
      .filter(Boolean),
  ),
);
const baseDir = path.join(HERE, "base");
const manifests: Manifest[] = files
  .filter((f) => path.dirname(f) === baseDir && path.basename(f) !== "kustomization.yaml")
  .flatMap((file) => parseFile(file).map((object) => ({ file: path.relative(HERE, file), object })));
const nameOf = (o: JsonObject) => (isObject(o.metadata) ? String(o.metadata.name) : "");
const find = (kind: string, name: string) =>
  manifests.find((m) => m.object.kind === kind && nameOf(m.object) === name)?.object;

/** An object of the base that must exist. */
function must(kind: string, name: string): JsonObject {
  const object = find(kind, name);
  if (object === undefined) throw new Error(`no ${kind} ${name} in the base`);
  return object;
}

/** The kubernetes-models class for an apiVersion + kind, e.g. apps/v1 Deployment. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  "apps/v1": apps,
  "autoscaling/v2": autoscaling,
  "networking.k8s.io/v1": networking,
  "policy/v1": policy,
};
function modelOf(apiVersion: string, kind: string) {
  const model = MODELS[apiVersion]?.[kind];
  if (typeof model !== "function") throw new Error(`no model for ${apiVersion} ${kind}`);
  return model as new (
    data: JsonObject,
  ) => { validate(): void };
}

/** Containers of a workload's pod template. */
function containersOf(workload: JsonObject): JsonObject[] {
  const spec = workload.spec;
  if (!isObject(spec) || !isObject(spec.template) || !isObject(spec.template.spec)) return [];
  const containers = spec.template.spec.containers;
  return Array.isArray(containers) ? containers.filter(isObject) : [];
}

/** A container's environment: explicit env, plus every key of the ConfigMaps/Secrets it loads. */
function environmentOf(container: JsonObject): Map<string, string | undefined> {
  const environment = new Map<string, string | undefined>();
  for (const source of Array.isArray(container.envFrom) ? container.envFrom.filter(isObject) : []) {
    const ref = isObject(source.configMapRef)
      ? source.configMapRef
      : isObject(source.secretRef)
        ? source.secretRef
        : undefined;
    const kind = isObject(source.configMapRef) ? "ConfigMap" : "Secret";
    const object = ref ? find(kind, String(ref.name)) : undefined;
    expect(object, `${kind} ${String(ref?.name)} loaded by ${String(container.name)}`).toBeDefined();
    const data =
      object && (isObject(object.data) ? object.data : isObject(object.stringData) ? object.stringData : {});
    for (const [key, value] of Object.entries(data ?? {})) environment.set(key, String(value));
  }
  for (const variable of Array.isArray(container.env) ? container.env.filter(isObject) : [])
    environment.set(String(variable.name), variable.value === undefined ? undefined : String(variable.value));
  return environment;
}

const appDeployments = manifests.filter(
  (m) =>
    m.object.kind === "Deployment" &&
    containersOf(m.object).some((c) => String(c.image).startsWith(`${APP_IMAGE}:`)),
);

describe("Kubernetes manifests", () => {
  it("are found: a base and the local overlay", () => {
    expect(kustomizationFiles.map((f) => path.relative(HERE, f)).sort()).toEqual([
      "base/kustomization.yaml",
      "overlays/local/kustomization.yaml",
    ]);
    expect(manifests.length).toBeGreaterThan(10);
  });

  it("every object is valid against the Kubernetes schemas", () => {
    for (const { file, object } of manifests) {
      const Model = modelOf(String(object.apiVersion), String(object.kind));
      expect(
        () => new Model(object).validate(),
        `${file}: ${String(object.kind)} ${nameOf(object)}`,
      ).not.toThrow();
    }
  });

  it("the validation refuses a broken object (the check can fail)", () => {
    const Model = modelOf("apps/v1", "Deployment");
    const broken = structuredClone(find("Deployment", "command-api")) as JsonObject;
    (containersOf(broken)[0]!.ports as JsonObject[])[0]!.containerPort = "eighty";
    expect(() => new Model(broken).validate()).toThrow(/containerPort/);
  });

  it("each kustomization lists every YAML file beside it, and only existing ones", () => {
    for (const [file, kustomization] of kustomizations) {
      const dir = path.dirname(file);
      const listed = [
        ...strings(kustomization.resources),
        ...[...patchFiles].filter((p) => path.dirname(p) === dir).map((p) => path.basename(p)),
      ];
      const beside = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml");
      const local = listed.filter((entry) => !entry.startsWith(".."));
      expect(local.sort(), path.relative(HERE, file)).toEqual(beside.sort());
      for (const entry of listed.filter((e) => e.startsWith("..")))
        expect(kustomizations.has(path.resolve(dir, entry, "kustomization.yaml")), entry).toBe(true);
    }
  });

  it("every patch of an overlay targets an object of the base, with a schema-valid field set", () => {
    for (const patch of patchFiles) {
      for (const object of parseFile(patch)) {
        expect(
          find(String(object.kind), nameOf(object)),
          `${path.relative(HERE, patch)}: ${String(object.kind)} ${nameOf(object)}`,
        ).toBeDefined();
      }
    }
  });

  it("runs one Deployment per role, the APIs behind Services, scaled at 50% CPU", () => {
    for (const [name, role] of Object.entries(APP_ROLES)) {
      const deployment = find("Deployment", name);
      expect(deployment, name).toBeDefined();
      const container = containersOf(deployment!)[0]!;
      expect(environmentOf(container).get("ROLE")).toBe(role);
    }
    expect((must("Deployment", "projector").spec as JsonObject).replicas).toBe(2);
    for (const name of ["command-api", "query-api"]) {
      expect(find("Service", name), name).toBeDefined();
      const hpa = find("HorizontalPodAutoscaler", name);
      expect(JSON.stringify(hpa?.spec)).toContain('"averageUtilization":50');
    }
  });

  it.each(appDeployments.map((m) => [nameOf(m.object), m.object] as const))(
    "%s: probes ask routes the service serves, on the port it listens on; names are configuration variables",
    (name, deployment) => {
      const spec = deployment.spec as JsonObject;
      expect(spec.strategy).toEqual({
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
      });
      expect(
        manifests.some((m) => m.object.kind === "PodDisruptionBudget" && nameOf(m.object) === name),
      ).toBe(true);
      const podSpec = (spec.template as JsonObject).spec as JsonObject;
      for (const container of containersOf(deployment)) {
        const environment = environmentOf(container);
        for (const variable of environment.keys())
          expect(KNOWN_VARIABLES, `${name}: ${variable}`).toContain(variable);
        const port = Number(environment.get("PORT"));
        const ports = (container.ports as JsonObject[]).map((p) => p.containerPort);
        expect(ports, `${name}: container port = PORT`).toEqual([port]);
        const portNames = new Map((container.ports as JsonObject[]).map((p) => [p.name, p.containerPort]));
        const probes = { readinessProbe: "/readyz", livenessProbe: "/healthz", startupProbe: "/healthz" };
        for (const [probe, expected] of Object.entries(probes)) {
          const httpGet = (container[probe] as JsonObject | undefined)?.httpGet as JsonObject | undefined;
          expect(httpGet?.path, `${name}: ${probe}`).toBe(expected);
          expect(PROBE_ROUTES).toContain(httpGet?.path);
          const probePort = typeof httpGet?.port === "string" ? portNames.get(httpGet.port) : httpGet?.port;
          expect(probePort, `${name}: ${probe} port`).toBe(port);
        }
        const resources = container.resources as JsonObject;
        expect(Object.keys(resources).sort()).toEqual(["limits", "requests"]);
        // The kubelet must not SIGKILL a pod still draining or finishing its requests.
        const drainMs = Number(environment.get("SHUTDOWN_DRAIN_MS"));
        const timeoutMs = Number(environment.get("SHUTDOWN_TIMEOUT_MS"));
        expect(drainMs).toBeGreaterThan(0);
        expect(Number(podSpec.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(drainMs + timeoutMs);
        // A blocked process is ended by its own watchdog (which logs the request it was running)
        // before the kubelet's liveness probe gives up on it; the probe catches what came back.
        const liveness = container.livenessProbe as JsonObject;
        const stallMs = Number(environment.get("EVENT_LOOP_STALL_MS") ?? defaultOf("EVENT_LOOP_STALL_MS"));
        expect(Number(liveness.periodSeconds) * Number(liveness.failureThreshold) * 1000).toBeGreaterThan(
          stallMs,
        );
      }
    },
  );

  it("ConfigMap and Secret keys the app loads are configuration variables; the secret is a marked placeholder", () => {
    const loaded = new Set(
      appDeployments.flatMap((m) =>
        containersOf(m.object).flatMap((c) =>
          (Array.isArray(c.envFrom) ? c.envFrom.filter(isObject) : []).map((s) =>
            isObject(s.configMapRef)
              ? `ConfigMap/${String(s.configMapRef.name)}`
              : `Secret/${String((s.secretRef as JsonObject).name)}`,
          ),
        ),
      ),
    );
    loaded.add("Secret/parking-secrets");
    for (const ref of loaded) {
      const [kind, name] = ref.split("/") as [string, string];
      const object = find(kind, name);
      expect(object, ref).toBeDefined();
      const data = {
        ...(object!.data as JsonObject | undefined),
        ...(object!.stringData as JsonObject | undefined),
      };
      for (const key of Object.keys(data)) expect(KNOWN_VARIABLES, `${ref}: ${key}`).toContain(key);
    }
    const secret = find("Secret", "parking-secrets")!;
    expect(readFileSync(path.join(baseDir, "secret.yaml"), "utf8")).toMatch(/PLACEHOLDER, TO BE REPLACED/);
    expect(Object.keys(secret.stringData as JsonObject)).toEqual(["IDEMPOTENCY_SECRET"]);
  });

  it("the stores are StatefulSets with volume claims behind headless Services", () => {
    for (const [name, image] of [
      ["eventstore", "eventstore/eventstore:24.10"],
      ["mongo", "mongo:7.0"],
    ] as const) {
      const statefulSet = find("StatefulSet", name)!;
      expect(containersOf(statefulSet)[0]?.image).toBe(image);
      const spec = statefulSet.spec as JsonObject;
      expect(spec.serviceName).toBe(name);
      expect((spec.volumeClaimTemplates as JsonObject[]).length).toBeGreaterThan(0);
      expect((must("Service", name).spec as JsonObject).clusterIP).toBe("None");
    }
    expect(containersOf(find("StatefulSet", "mongo")!)[0]?.args).toEqual([
      "--replSet",
      "rs0",
      "--bind_ip_all",
    ]);
  });

  it("the Ingress is the one entry point, to the gateway that routes by method", () => {
    const ingress = find("Ingress", "parking-reservations")!;
    expect(JSON.stringify(ingress.spec)).toContain('"name":"gateway"');
    const haproxy = String((find("ConfigMap", "gateway-config")!.data as JsonObject)["haproxy.cfg"]);
    expect(haproxy).toMatch(/use_backend query_api if METH_GET or METH_HEAD/);
    expect(haproxy).toMatch(/default_backend command_api/);
    for (const container of containersOf(find("Deployment", "gateway")!))
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"])
        expect(haproxy).toContain(
          `path ${String(((container[probe] as JsonObject).httpGet as JsonObject).path)} }`,
        );
  });
});
