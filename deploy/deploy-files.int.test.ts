import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Copy, DockerfileParser, type Instruction } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../platform/config.js";
import {
  composeDurationMs,
  dependsOnOf,
  dockerignorePatterns,
  environmentOf,
  healthcheckCommandOf,
  isDockerIgnored,
  isObject,
  type JsonObject,
  publishedHostPortsOf,
  volumesOf,
} from "../test-support/deploy-files.js";
import { normalizeTable, renderConfigTable, tableIn } from "./config-table.js";

/**
 * Checks the deployment files without a container engine: docker-compose.yml, the Dockerfile,
 * .dockerignore, the gateway's haproxy.cfg, MongoDB's health check and docs/operations.md, each
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
  const mount = volumesOf(gateway).find((m) => m.target === "/usr/local/etc/haproxy/haproxy.cfg");
  const config = read("deploy/gateway/haproxy.cfg");
  /** Config lines without comments, trimmed. */
  const lines = config
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter(Boolean);
  const sectionOf = (header: string): string[] => {
    const start = config.split("\n").findIndex((line) => line.trim() === header);
    if (start < 0) throw new Error(`haproxy.cfg has no section ${header}`);
    const rest = config.split("\n").slice(start + 1);
    const end = rest.findIndex((line) => /^\S/.test(line) && !line.startsWith("#"));
    return rest
      .slice(0, end < 0 ? undefined : end)
      .map((line) => line.replace(/#.*$/, "").trim())
      .filter(Boolean);
  };

  it("is HAProxy 2.6 (the version Debian ships, which the tests run), publishing port 8080, with the config mounted read-only", () => {
    expect(gateway.image).toBe("haproxy:2.6");
    expect(publishedHostPortsOf(gateway)).toEqual(["8080"]);
    expect(mount?.source).toBe("./deploy/gateway/haproxy.cfg");
    expect(mount?.readOnly).toBe(true);
    expect(lines).toContain("bind :8080");
  });

  it("routes reads to query-api and everything else to command-api", () => {
    const front = sectionOf("frontend api");
    expect(front).toContain("use_backend query_api if METH_GET or METH_HEAD");
    expect(front).toContain("default_backend command_api");
  });

  it("checks every replica's /readyz actively and fills its slots from Docker's DNS", () => {
    for (const [backend, host] of [
      ["query_api", "query-api"],
      ["command_api", "command-api"],
    ] as const) {
      const section = sectionOf(`backend ${backend}`);
      expect(section).toContain("option httpchk GET /readyz");
      expect(section).toContain("http-check expect status 200");
      expect(
        section.some(
          (l) =>
            l.startsWith(`server-template ${host} `) && l.includes(`${host}:8080 check resolvers docker`),
        ),
      ).toBe(true);
    }
    expect(sectionOf("resolvers docker")).toContain("nameserver dns 127.0.0.11:53");
  });

  it("retries only what is safe: never resends a POST without an Idempotency-Key", () => {
    const front = sectionOf("frontend api");
    expect(front).toContain(
      "http-request disable-l7-retry if METH_POST !{ req.hdr(idempotency-key) -m found }",
    );
    expect(sectionOf("defaults")).toContain("option redispatch 1");
  });

  it("keeps idle connections shorter than the service does, so the service never closes one the gateway reuses", () => {
    const keepAlive = sectionOf("defaults").find((l) => l.startsWith("timeout http-keep-alive"));
    const seconds = Number(/(\d+)s$/.exec(keepAlive ?? "")?.[1]);
    const service = CONFIG_VARIABLES.find((v) => v.name === "HTTP_KEEP_ALIVE_TIMEOUT_MS");
    expect(seconds * 1000).toBeLessThan(Number(service?.default));
  });

  it("is a configuration haproxy accepts (haproxy -c)", () => {
    const haproxy = "/usr/sbin/haproxy";
    expect(existsSync(haproxy), `${haproxy} (apt-get install haproxy; .ci/run installs it)`).toBe(true);
    const result = spawnSync(haproxy, ["-c", "-f", path.join(ROOT, "deploy/gateway/haproxy.cfg")], {
      encoding: "utf8",
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it("drains the API replicas longer than the gateway needs to notice", () => {
    const inter = Number(/inter (\d+)ms/.exec(sectionOf("defaults").join("\n"))?.[1]);
    const fall = Number(/fall (\d+)/.exec(sectionOf("defaults").join("\n"))?.[1]);
    for (const name of ["command-api", "query-api"]) {
      const drain = Number(environmentOf(serviceOf(name)).SHUTDOWN_DRAIN_MS);
      expect(drain, `${name} SHUTDOWN_DRAIN_MS`).toBeGreaterThan(inter * fall);
    }
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
  it("is multi-stage, every stage on one Node.js LTS image (the major CI also tests on)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(finalStage.base).toBe("node:24-bookworm-slim");
    for (const stage of stages) {
      const root = lineage(stage).at(-1);
      expect(root?.base, `stage ${stage.name}`).toBe("node:24-bookworm-slim");
    }
    // CI runs the whole suite on the image's major among the supported lines.
    const ci = readFileSync(new URL("../.ci/run", import.meta.url), "utf8");
    expect(ci).toMatch(/^for major in [0-9 ]*\b24\b[0-9 ]*; do$/m);
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
    // exec: npm's shell gives its place to node, so a signal to `npm start` reaches the service.
    expect(start).toBe("exec node dist/app/main.js");
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
