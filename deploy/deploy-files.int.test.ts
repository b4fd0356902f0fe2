import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Copy, DockerfileParser, type Instruction } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../platform/config.js";
import { normalizeTable, renderConfigTable, tableIn } from "./config-table.js";
import {
  composeDurationMs,
  dependsOnOf,
  dockerignorePatterns,
  environmentOf,
  findDirectives,
  healthcheckCommandOf,
  isDockerIgnored,
  isObject,
  type JsonObject,
  type NginxDirective,
  parseNginxConfig,
  publishedHostPortsOf,
  volumesOf,
} from "./deploy-files.js";

/**
 * Checks the deployment files without a container engine: docker-compose.yml, the Dockerfile,
 * .dockerignore, the gateway's nginx.conf, MongoDB's health check and docs/operations.md, each
 * against the others and against the configuration table of platform/config.ts.
 */

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** The app services and the ROLE each runs; the two API roles may be scaled. */
const APP_SERVICES = {
  "command-api": "command-api",
  projector: "projector",
  "query-api": "query-api",
} as const;
const SCALABLE = ["command-api", "query-api"];
/** Variables Node itself reads, allowed besides CONFIG_VARIABLES. */
const NODE_VARIABLES = new Set(["NODE_ENV", "NODE_OPTIONS"]);
const KNOWN_VARIABLES = new Set(CONFIG_VARIABLES.map((v) => v.name));
const DEPENDENCY_CONDITIONS = new Set([
  "service_started",
  "service_healthy",
  "service_completed_successfully",
]);

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

const compose: unknown = parseYaml(read("docker-compose.yml"), { merge: true });
if (!isObject(compose) || !isObject(compose.services))
  throw new Error("docker-compose.yml has no services map");
const services: Record<string, JsonObject> = Object.fromEntries(
  Object.entries(compose.services).map(([name, service]) => {
    if (!isObject(service)) throw new Error(`service ${name} is not a map`);
    return [name, service];
  }),
);
const serviceNames = Object.keys(services);
const serviceOf = (name: string): JsonObject => {
  const service = services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
};
const appEnvironment = (name: string) => environmentOf(serviceOf(name));

describe("docker-compose.yml", () => {
  it("has the stores, the three roles and the gateway", () => {
    expect(serviceNames).toEqual(
      expect.arrayContaining(["eventstore", "mongo", "command-api", "projector", "query-api", "gateway"]),
    );
  });

  it("gives every service an image or a build", () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image !== undefined || service.build !== undefined, name).toBe(true);
    }
  });

  it("gives every long-running service a health check and a restart policy", () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.restart === "no") continue; // one-shot job
      expect(healthcheckCommandOf(service), `${name} health check`).toBeDefined();
      expect(service.restart, `${name} restart`).toBe("unless-stopped");
    }
  });

  it("makes depends_on name existing services, with a valid condition, healthy only where checked", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependsOnOf(service))) {
        expect(serviceNames, `${name} depends on ${dependency}`).toContain(dependency);
        expect(DEPENDENCY_CONDITIONS.has(condition), `${name} -> ${dependency}: ${condition}`).toBe(true);
        if (condition === "service_healthy") {
          expect(
            healthcheckCommandOf(serviceOf(dependency)),
            `${dependency} needs a health check`,
          ).toBeDefined();
        }
      }
    }
  });

  it("starts the app services only once the stores they use are healthy", () => {
    expect(dependsOnOf(serviceOf("command-api"))).toMatchObject({ eventstore: "service_healthy" });
    expect(dependsOnOf(serviceOf("projector"))).toMatchObject({
      eventstore: "service_healthy",
      mongo: "service_healthy",
    });
    expect(dependsOnOf(serviceOf("query-api"))).toMatchObject({ mongo: "service_healthy" });
    expect(dependsOnOf(serviceOf("gateway"))).toMatchObject({
      "command-api": "service_healthy",
      "query-api": "service_healthy",
    });
  });

  it("declares every named volume and finds every bind-mounted file", () => {
    const declared = isObject(compose.volumes) ? Object.keys(compose.volumes) : [];
    for (const [name, service] of Object.entries(services)) {
      for (const mount of volumesOf(service)) {
        if (mount.type === "volume" && mount.source !== undefined) {
          expect(declared, `${name} uses volume ${mount.source}`).toContain(mount.source);
        }
        if (mount.type === "bind") {
          expect(existsSync(path.join(ROOT, mount.source ?? "")), `${name} mounts ${mount.source}`).toBe(
            true,
          );
          expect(mount.readOnly, `${name} mounts ${mount.source} read-only`).toBe(true);
        }
      }
    }
  });

  describe("app services", () => {
    it.each(Object.entries(APP_SERVICES))("%s is built from the Dockerfile with ROLE=%s", (name, role) => {
      const service = serviceOf(name);
      const build = service.build;
      const context = isObject(build) ? build.context : build;
      const dockerfile =
        isObject(build) && typeof build.dockerfile === "string" ? build.dockerfile : "Dockerfile";
      expect(context).toBe(".");
      expect(dockerfile).toBe("Dockerfile");
      expect(appEnvironment(name).ROLE).toBe(role);
    });

    it.each(Object.keys(APP_SERVICES))(
      "%s gets only known variables, each accepted by loadConfig",
      (name) => {
        const environment = appEnvironment(name);
        const unknown = Object.keys(environment).filter(
          (v) => !KNOWN_VARIABLES.has(v) && !NODE_VARIABLES.has(v),
        );
        expect(unknown, `unknown variables of ${name}`).toEqual([]);
        let problems: readonly unknown[] = [];
        try {
          loadConfig(environment);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          problems = error.problems;
        }
        expect(problems, `${name}`).toEqual([]);
      },
    );

    it.each(Object.keys(APP_SERVICES))("%s uses the servers of this compose file", (name) => {
      const config = loadConfig(appEnvironment(name));
      const eventStore = /^esdb:\/\/(?<host>[^:/?]+):(?<port>\d+)\?(?<query>.*)$/.exec(
        config.eventStoreUrl ?? "",
      );
      expect(eventStore?.groups?.host, `${name} EVENTSTORE_URL`).toBe("eventstore");
      expect(eventStore?.groups?.port).toBe("2113");
      expect(eventStore?.groups?.query).toContain("tls=false");
      const mongo = /^mongodb:\/\/(?<host>[^:/?]+):(?<port>\d+)\/?\?(?<query>.*)$/.exec(
        config.mongodbUrl ?? "",
      );
      expect(mongo?.groups?.host, `${name} MONGODB_URL`).toBe("mongo");
      expect(mongo?.groups?.port).toBe("27017");
      expect(new URLSearchParams(mongo?.groups?.query).get("replicaSet")).toBe(replicaSetName());
    });

    it.each(Object.keys(APP_SERVICES))("%s gets longer to stop than its graceful shutdown takes", (name) => {
      const service = serviceOf(name);
      const config = loadConfig(appEnvironment(name));
      expect(composeDurationMs(service.stop_grace_period)).toBeGreaterThan(config.shutdownTimeoutMs);
    });

    it.each(Object.keys(APP_SERVICES))("%s probes /healthz on its own PORT", (name) => {
      const command = healthcheckCommandOf(serviceOf(name)) ?? "";
      expect(command).toContain("/healthz");
      const port = loadConfig(appEnvironment(name)).port;
      expect(command.includes(`:${port}/`) || command.includes("process.env.PORT")).toBe(true);
    });

    it.each(SCALABLE)("%s can be scaled: no container_name, no host port", (name) => {
      const service = serviceOf(name);
      expect(service.container_name).toBeUndefined();
      expect(publishedHostPortsOf(service)).toEqual([]);
    });

    it("sets no container_name on any app service", () => {
      for (const name of Object.keys(APP_SERVICES))
        expect(serviceOf(name).container_name, name).toBeUndefined();
    });
  });

  describe("EventStoreDB", () => {
    const eventstore = serviceOf("eventstore");
    const environment = environmentOf(eventstore);

    it("is a 24.x single node, insecure for local use", () => {
      expect(String(eventstore.image)).toMatch(/^eventstore\/eventstore:24\.\d+/);
      expect(environment.EVENTSTORE_INSECURE).toBe("true");
      expect(["None", "All", "System"]).toContain(environment.EVENTSTORE_RUN_PROJECTIONS);
      expect(environment.EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP).toBe("true");
    });

    it("checks /health/live over plain HTTP with curl", () => {
      const command = healthcheckCommandOf(eventstore) ?? "";
      expect(command).toMatch(/curl .*--fail.*http:\/\/localhost:2113\/health\/live/);
    });

    it("keeps its data in a volume", () => {
      expect(volumesOf(eventstore).map((m) => m.target)).toContain("/var/lib/eventstore");
    });
  });

  describe("MongoDB", () => {
    const mongo = serviceOf("mongo");
    const mounts = volumesOf(mongo);
    const script = mounts.find((m) => m.type === "bind" && m.source === "./deploy/mongo");

    it("is MongoDB 7 started as replica set member, with its data in a volume", () => {
      expect(String(mongo.image)).toMatch(/^mongo:7(\.|$)/);
      expect(mounts.map((m) => m.target)).toContain("/data/db");
      expect(replicaSetName()).toBeTruthy();
    });

    it("runs the replica-set health check script that deploy/mongo ships", () => {
      expect(script, "deploy/mongo is mounted").toBeDefined();
      const command = healthcheckCommandOf(mongo) ?? "";
      expect(command).toMatch(/^CMD mongosh /);
      const file = command.split(" ").find((part) => part.endsWith(".js")) ?? "";
      expect(file.startsWith(`${script?.target}/`), `${file} is under ${script?.target}`).toBe(true);
      expect(existsSync(path.join(ROOT, "deploy/mongo", path.basename(file)))).toBe(true);
    });

    it("initiates the replica set the apps connect to, announcing the service's own address", () => {
      const source = read("deploy/mongo/replica-set-healthcheck.js");
      expect(source).toContain(`const REPLICA_SET = "${replicaSetName()}";`);
      expect(source).toContain('const MEMBER_HOST = "mongo:27017";');
      expect(source).toMatch(/rs\.initiate\(/);
      expect(source).toMatch(/isWritablePrimary/);
      expect(source).toMatch(/quit\(1\)/);
    });
  });
});

/** The --replSet name the mongo service starts with. */
function replicaSetName(): string | undefined {
  const command = serviceOf("mongo").command;
  const args = Array.isArray(command) ? command.map(String) : String(command ?? "").split(/\s+/);
  const flag = args.findIndex((arg) => arg === "--replSet" || arg.startsWith("--replSet="));
  if (flag < 0) return undefined;
  const arg = args[flag] ?? "";
  return arg.includes("=") ? arg.split("=")[1] : args[flag + 1];
}

// ---------------------------------------------------------------------------------------------
// gateway

describe("gateway", () => {
  const gateway = serviceOf("gateway");
  const mount = volumesOf(gateway).find((m) => m.target === "/etc/nginx/nginx.conf");
  const nginx = parseNginxConfig(read("deploy/gateway/nginx.conf"));

  const upstreams = new Map(
    findDirectives(nginx, "upstream").map((u) => [
      u.args[0] ?? "",
      (u.block ?? []).filter((d) => d.name === "server").map((d) => d.args[0] ?? ""),
    ]),
  );
  /** The compose services an upstream group (or a literal host) sends requests to. */
  const servicesBehind = (target: string): string[] =>
    (upstreams.get(target) ?? [target]).map((address) => address.split(":")[0] ?? "");

  const methodMap = (): NginxDirective => {
    const map = findDirectives(nginx, "map").find((m) => m.args[0] === "$request_method");
    if (!map) throw new Error("nginx.conf has no map $request_method");
    return map;
  };
  const upstreamFor = (method: string): string => {
    const entries = methodMap().block ?? [];
    const entry = entries.find((e) => e.name === method) ?? entries.find((e) => e.name === "default");
    return entry?.args[0] ?? "";
  };

  it("is nginx 1.27 on alpine, publishing port 8080", () => {
    expect(gateway.image).toBe("nginx:1.27-alpine");
    expect(publishedHostPortsOf(gateway)).toEqual(["8080"]);
    expect(findDirectives(nginx, "listen").map((d) => d.args[0])).toContain("8080");
  });

  it("mounts deploy/gateway/nginx.conf read-only as the whole nginx configuration", () => {
    expect(mount?.source).toBe("./deploy/gateway/nginx.conf");
    expect(mount?.readOnly).toBe(true);
    expect(statSync(path.join(ROOT, "deploy/gateway/nginx.conf")).isFile()).toBe(true);
    expect(nginx.map((d) => d.name)).toEqual(expect.arrayContaining(["events", "http"]));
  });

  it("names only compose services as upstream hosts, on the port each one listens on", () => {
    expect(upstreams.size).toBeGreaterThan(0);
    for (const [group, addresses] of upstreams) {
      expect(addresses.length, group).toBeGreaterThan(0);
      for (const address of addresses) {
        const [host = "", port = "80"] = address.split(":");
        expect(serviceNames, `upstream ${group} names ${host}`).toContain(host);
        expect(port, `${address}`).toBe(String(loadConfig(environmentOf(serviceOf(host))).port));
      }
    }
  });

  it("re-resolves upstream replicas through Docker's DNS, so scaled services are picked up", () => {
    expect(findDirectives(nginx, "resolver")[0]?.args[0]).toBe("127.0.0.11");
    for (const upstream of findDirectives(nginx, "upstream")) {
      const block = upstream.block ?? [];
      expect(
        block.some((d) => d.name === "zone"),
        `${upstream.args[0]} has a zone`,
      ).toBe(true);
      for (const server of block.filter((d) => d.name === "server")) expect(server.args).toContain("resolve");
    }
  });

  it("proxies only to upstream groups or compose services", () => {
    const routed = methodMap().block?.flatMap((entry) => entry.args) ?? [];
    for (const proxyPass of findDirectives(nginx, "proxy_pass")) {
      const target = (proxyPass.args[0] ?? "").replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      const targets = target === "$api_upstream" ? routed : [target];
      for (const t of targets) {
        for (const host of servicesBehind(t)) expect(serviceNames, `proxy_pass to ${t}`).toContain(host);
      }
    }
    expect(findDirectives(nginx, "proxy_pass").map((d) => d.args[0])).toContain("http://$api_upstream");
  });

  it("sends GET and HEAD to query-api, POST and DELETE to command-api", () => {
    expect(servicesBehind(upstreamFor("GET"))).toEqual(["query-api"]);
    expect(servicesBehind(upstreamFor("HEAD"))).toEqual(["query-api"]);
    expect(servicesBehind(upstreamFor("POST"))).toEqual(["command-api"]);
    expect(servicesBehind(upstreamFor("DELETE"))).toEqual(["command-api"]);
    expect(servicesBehind(upstreamFor("PATCH"))).toEqual(["command-api"]);
  });

  it("routes every path by method alone, so /parking-lots/{id} reads and writes reach the right side", () => {
    const server = findDirectives(nginx, "server").find((s) => s.block !== undefined);
    const locations = (server?.block ?? []).filter((d) => d.name === "location");
    const proxied = locations.filter((l) => findDirectives(l.block ?? [], "proxy_pass").length > 0);
    expect(proxied.map((l) => l.args.join(" "))).toEqual(["/"]);
  });

  it("passes X-Correlation-Id and Idempotency-Key through to the services", () => {
    const headers = new Map(
      findDirectives(nginx, "proxy_set_header").map((d) => [d.args[0]?.toLowerCase(), d.args[1]]),
    );
    expect(headers.get("idempotency-key")).toBe("$http_idempotency_key");
    const correlation = headers.get("x-correlation-id");
    expect(correlation === "$http_x_correlation_id" || correlation === "$correlation_id").toBe(true);
    if (correlation === "$correlation_id") {
      const map = findDirectives(nginx, "map").find((m) => m.args[1] === "$correlation_id");
      expect(map?.args[0]).toBe("$http_x_correlation_id");
      expect(map?.block?.find((e) => e.name === "default")?.args[0]).toBe("$http_x_correlation_id");
    }
  });

  it("waits longer for an answer than the longest read-your-writes wait", () => {
    const timeout = findDirectives(nginx, "proxy_read_timeout")[0]?.args[0] ?? "60s";
    const longest = Number(
      CONFIG_VARIABLES.find((v) => v.name === "READ_YOUR_WRITES_TIMEOUT_MS")?.expects.match(/to (\d+)/)?.[1],
    );
    expect(composeDurationMs(timeout)).toBeGreaterThan(longest);
  });

  it("answers /healthz itself, and its compose health check probes it", () => {
    const location = findDirectives(nginx, "location").find((l) => l.args.join(" ") === "= /healthz");
    expect(findDirectives(location?.block ?? [], "return")[0]?.args[0]).toBe("200");
    expect(findDirectives(location?.block ?? [], "proxy_pass")).toEqual([]);
    expect(healthcheckCommandOf(gateway)).toContain("127.0.0.1:8080/healthz");
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

const dockerfile = DockerfileParser.parse(read("Dockerfile"));

interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly instructions: Instruction[];
}

const initialArgs = new Map(
  dockerfile
    .getInitialARGs()
    .map((arg) => [arg.getProperty()?.getName() ?? "", arg.getProperty()?.getValue() ?? ""]),
);
const expandArgs = (text: string) =>
  text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => initialArgs.get(name) ?? whole);

const stages: Stage[] = [];
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === "FROM") {
    const args = instruction.getArguments().map((a) => a.getValue());
    const as = args.findIndex((a) => a.toUpperCase() === "AS");
    stages.push({
      name: as >= 0 ? args[as + 1] : undefined,
      base: expandArgs(args[0] ?? ""),
      instructions: [],
    });
  } else {
    stages.at(-1)?.instructions.push(instruction);
  }
}
const finalStage = stages.at(-1);
if (!finalStage) throw new Error("Dockerfile has no FROM");

const stageNamed = (name: string) => stages.find((s) => s.name === name);
/** A stage and the stages it is built FROM, nearest first. */
const lineage = (stage: Stage): Stage[] => {
  const parent = stageNamed(stage.base);
  return parent ? [stage, ...lineage(parent)] : [stage];
};
const runs = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.getKeyword() === "RUN")
    .map((i) => (i.getArgumentsContent() ?? "").replace(/\s+/g, " "));
const lastOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.getKeyword() === keyword).at(-1);
const fromFlag = (instruction: Instruction) =>
  instruction instanceof Copy ? (instruction.getFromFlag()?.getValue() ?? undefined) : undefined;
const PRUNES_DEV =
  /npm (ci|install) [^&|;]*--omit=dev|npm prune [^&|;]*--omit=dev|npm (ci|install|prune) [^&|;]*--production/;

describe("Dockerfile", () => {
  it("is multi-stage, on node:20-bookworm-slim", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(finalStage.base).toBe("node:20-bookworm-slim");
    for (const stage of stages) {
      const root = lineage(stage).at(-1);
      expect(root?.base, `stage ${stage.name}`).toBe("node:20-bookworm-slim");
    }
  });

  it("installs the toolchain better-sqlite3 compiles with, then npm ci and npm run build", () => {
    const all = stages.flatMap(runs);
    expect(
      all.some((r) => /apt-get install .*python3/.test(r) && /\bmake\b/.test(r) && /\bg\+\+/.test(r)),
    ).toBe(true);
    expect(all.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(all.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  it("copies nothing into the final stage but package.json, dist and production node_modules", () => {
    const copies = finalStage.instructions.filter(
      (i) => i.getKeyword() === "COPY" || i.getKeyword() === "ADD",
    );
    expect(finalStage.instructions.some((i) => i.getKeyword() === "ADD")).toBe(false);
    const sources = copies.flatMap((copy) =>
      copy
        .getArguments()
        .map((a) => a.getValue())
        .filter((a) => !a.startsWith("--"))
        .slice(0, -1)
        .map((source) => ({
          from: fromFlag(copy),
          source: source.replace(/^\/app\//, "").replace(/^\.\//, ""),
        })),
    );
    for (const { source } of sources) {
      expect(["package.json", "package-lock.json", "dist", "node_modules"], `COPY ${source}`).toContain(
        source,
      );
    }
    const nodeModules = sources.filter((s) => s.source === "node_modules");
    expect(nodeModules).toHaveLength(1);
    const from = stageNamed(nodeModules[0]?.from ?? "");
    expect(from, "node_modules comes from a named stage").toBeDefined();
    // That stage (or the one it is built from) removed the dev dependencies after installing them.
    expect(
      lineage(from as Stage)
        .flatMap(runs)
        .some((r) => PRUNES_DEV.test(r)),
    ).toBe(true);
    expect(runs(from as Stage).some((r) => /\bnpm run build\b/.test(r))).toBe(false);
    expect(sources.find((s) => s.source === "dist")?.from).toBeDefined();
  });

  it("does not install the toolchain or dev dependencies in the final stage", () => {
    for (const run of runs(finalStage)) {
      expect(run).not.toMatch(/apt-get install|npm (ci|install)(?![^&|;]*--omit=dev)/);
    }
  });

  it("runs as the non-root node user, in production mode", () => {
    const user = lastOf(finalStage, "USER")?.getArgumentsContent()?.trim();
    expect(user).toBeDefined();
    expect(["root", "0", "0:0", "root:root"]).not.toContain(user);
    expect(user?.split(":")[0]).toBe("node");
    const env = Object.fromEntries(
      dockerfile
        .getENVs()
        .filter((e) => finalStage.instructions.includes(e))
        .flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue() ?? ""])),
    );
    expect(env.NODE_ENV).toBe("production");
    const config = Object.fromEntries(Object.entries(env).filter(([name]) => KNOWN_VARIABLES.has(name)));
    expect(() => loadConfig(config)).not.toThrow();
  });

  it("runs node dist/app/main.js in exec form, as npm start does", () => {
    const cmd = dockerfile.getCMDs().filter((c) => finalStage.instructions.includes(c));
    expect(cmd).toHaveLength(1);
    const content = cmd[0]?.getArgumentsContent() ?? "";
    expect(content.trim().startsWith("["), "exec form").toBe(true);
    const argv: unknown = JSON.parse(content);
    expect(argv).toEqual(["node", "dist/app/main.js"]);
    const packageJson: unknown = JSON.parse(read("package.json"));
    const start =
      isObject(packageJson) && isObject(packageJson.scripts) ? packageJson.scripts.start : undefined;
    expect(start).toBe("node dist/app/main.js");
    expect(dockerfile.getENTRYPOINTs()).toEqual([]);
  });

  it("has a HEALTHCHECK that fetches /healthz with node", () => {
    const healthcheck = dockerfile.getHEALTHCHECKs().filter((h) => finalStage.instructions.includes(h));
    expect(healthcheck).toHaveLength(1);
    const content = healthcheck[0]?.getArgumentsContent() ?? "";
    const json = content.slice(content.indexOf("["));
    const argv: unknown = JSON.parse(json);
    expect(Array.isArray(argv) && argv[0] === "node").toBe(true);
    expect(content).toMatch(/fetch\(.*\/healthz/);
  });

  it("exposes 8080 and stops with SIGTERM", () => {
    expect(lastOf(finalStage, "EXPOSE")?.getArgumentsContent()).toBe("8080");
    expect(lastOf(finalStage, "STOPSIGNAL")?.getArgumentsContent()).toBe("SIGTERM");
  });
});

describe(".dockerignore", () => {
  const patterns = dockerignorePatterns(read(".dockerignore"));

  it("keeps local installs, builds, data and the git history out of the build context", () => {
    for (const file of [
      "node_modules",
      "write-side/node_modules",
      "dist",
      "data",
      ".git",
      ".bench-data",
      "bench/results",
    ]) {
      expect(isDockerIgnored(patterns, file), file).toBe(true);
    }
  });

  it("keeps everything the build needs", () => {
    const build: unknown = JSON.parse(read("tsconfig.build.json"));
    const include = isObject(build) && Array.isArray(build.include) ? build.include.map(String) : [];
    expect(include.length).toBeGreaterThan(0);
    const needed = [
      "package.json",
      "package-lock.json",
      ".npmrc",
      "tsconfig.json",
      "tsconfig.build.json",
      ...include,
    ];
    for (const file of needed) expect(isDockerIgnored(patterns, file), file).toBe(false);
    for (const file of ["app/main.ts", "platform/config.ts"])
      expect(isDockerIgnored(patterns, file), file).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// docs/operations.md

describe("docs/operations.md", () => {
  const guide = read("docs/operations.md");

  it("mentions every configuration variable", () => {
    for (const variable of CONFIG_VARIABLES) expect(guide, variable.name).toContain(`\`${variable.name}\``);
  });

  it("has the configuration table generated from CONFIG_VARIABLES (npx tsx deploy/config-table.ts --write)", () => {
    const table = tableIn(guide);
    expect(table, "the config-table markers").toBeDefined();
    expect(normalizeTable(table ?? "")).toBe(normalizeTable(renderConfigTable()));
  });

  it("explains both ways to run, the roles and the gateway", () => {
    for (const text of [
      "npm ci && npm start",
      "docker compose up --build",
      "--scale query-api=3",
      "http://localhost:8080",
      "SIGTERM",
      "DATA_DIR/",
    ]) {
      expect(guide, text).toContain(text);
    }
    for (const role of ["all", "command-api", "projector", "query-api"])
      expect(guide).toContain(`\`${role}\``);
  });
});
