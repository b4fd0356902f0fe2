/**
 * Small readers for the deployment files, so that tests can check them without a container
 * engine: compose service fields, compose durations and .dockerignore.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Compose

/** A service's `environment`, in list (`K=V`) or map form, as strings (as compose passes them). */
export function environmentOf(service: JsonObject): Record<string, string> {
  const environment = service.environment;
  if (environment === undefined || environment === null) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const text = String(entry);
        const at = text.indexOf("=");
        return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
      }),
    );
  }
  if (!isObject(environment)) throw new Error("environment is neither a list nor a map");
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, value === null ? "" : String(value)]),
  );
}

/** A service's `depends_on` as dependency -> condition (the list form means service_started). */
export function dependsOnOf(service: JsonObject): Record<string, string> {
  const dependsOn = service.depends_on;
  if (dependsOn === undefined || dependsOn === null) return {};
  if (Array.isArray(dependsOn))
    return Object.fromEntries(dependsOn.map((name) => [String(name), "service_started"]));
  if (!isObject(dependsOn)) throw new Error("depends_on is neither a list nor a map");
  return Object.fromEntries(
    Object.entries(dependsOn).map(([name, spec]) => [
      name,
      isObject(spec) && typeof spec.condition === "string" ? spec.condition : "service_started",
    ]),
  );
}

/** The health check command of a service as one string, or undefined when it has none. */
export function healthcheckCommandOf(service: JsonObject): string | undefined {
  const healthcheck = service.healthcheck;
  if (!isObject(healthcheck) || healthcheck.disable === true) return undefined;
  const test = healthcheck.test;
  if (typeof test === "string") return test.trim() === "" ? undefined : test;
  if (!Array.isArray(test) || test.length === 0 || test[0] === "NONE") return undefined;
  return test.map(String).join(" ");
}

/** Host ports a service publishes (`ports` entries that name a host port). */
export function publishedHostPortsOf(service: JsonObject): string[] {
  const ports = service.ports;
  if (!Array.isArray(ports)) return [];
  const published: string[] = [];
  for (const port of ports) {
    if (isObject(port)) {
      if (port.published !== undefined && port.published !== null) published.push(String(port.published));
      continue;
    }
    // [ip:]host:container[/proto]; a bare container port publishes a random host port only.
    const spec = String(port).replace(/\/(tcp|udp|sctp)$/, "");
    const parts = spec.startsWith("[") ? spec.replace(/^\[[^\]]*\]:/, "").split(":") : spec.split(":");
    if (parts.length >= 2) published.push(parts.at(-2) ?? "");
  }
  return published;
}

/** Volume entries of a service in long form (type, source, target, read_only). */
export interface VolumeMount {
  readonly type: "bind" | "volume" | "other";
  readonly source: string | undefined;
  readonly target: string;
  readonly readOnly: boolean;
}

export function volumesOf(service: JsonObject): VolumeMount[] {
  const volumes = service.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.map((volume): VolumeMount => {
    if (isObject(volume)) {
      const type = volume.type === "bind" || volume.type === "volume" ? volume.type : "other";
      return {
        type,
        source: typeof volume.source === "string" ? volume.source : undefined,
        target: String(volume.target),
        readOnly: volume.read_only === true,
      };
    }
    const [source = "", target, mode = ""] = String(volume).split(":");
    if (target === undefined) return { type: "volume", source: undefined, target: source, readOnly: false };
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return {
      type: isPath ? "bind" : "volume",
      source,
      target,
      readOnly: mode.split(",").includes("ro"),
    };
  });
}

const DURATION_UNITS_MS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  ns: 0.000001,
};

/** A compose duration (`1m30s`, `500ms`, `10s`) in milliseconds. */
export function composeDurationMs(value: Json | undefined): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value !== "string" || !/^(\d+(\.\d+)?(h|ms|m|s|us|ns))+$/.test(value)) {
    throw new Error(`not a compose duration: ${JSON.stringify(value)}`);
  }
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ""] ?? Number.NaN);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? "";
    if (char === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether .dockerignore `patterns` leave `file` (a path relative to the context) out of the build
 * context: a pattern matches the path or one of its parent directories; `!` re-includes.
 */
export function isDockerIgnored(patterns: readonly string[], file: string): boolean {
  const parts = file.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, "").replace(/\/+$/, "");
    if (pattern === "") continue;
    const regex = globToRegExp(pattern);
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !negated;
  }
  return ignored;
}

export function dockerignorePatterns(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}
