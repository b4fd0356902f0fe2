import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Kind, OptionalKind, type TSchema } from "@sinclair/typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigSchema } from "../platform/config/schema.js";
import { CONFIG_VARIABLES } from "../platform/config.js";
import { startTestProvider, type TestProvider } from "../test-support/oidc-provider.js";
import { type OtlpReceiver, startOtlpReceiver } from "../test-support/otlp.js";
import { freePorts, PROJECT_ROOT, SERVICE_ARGS } from "../test-support/process.js";
import { type StripeServer, startStripeServer } from "../test-support/stripe/server.js";

/**
 * Every documented configuration starts the built service (issue 67). From the configuration
 * table (CONFIG_VARIABLES, read off the schema docs/operations.md's table is generated from) each
 * variable gets its edge values (an integer's bounds, each value of a list, both booleans) and its
 * documented examples; `dist/app/main.js` is started as `npm start` runs it with each, and must
 * answer /readyz; each value past an edge must be refused at start in one line naming the variable
 * (no stack trace). Valid values are combined: configuration i sets every variable to its i-th value
 * (cycling), so a few starts cover every value; a failure prints the configuration it started.
 * Tracing always exports to a loopback OTLP receiver that must receive spans; OIDC and Stripe get
 * their loopback stand-ins. The tests before this one ran the source under tsx, where tracing
 * worked while the bundle users run exited at start (`defaultResource is not a function`).
 */

type Value = string | undefined;
interface Cases {
  /** Values the service must start with (undefined: unset). */
  readonly valid: readonly Value[];
  /** Values it must refuse at start, naming the variable. */
  readonly invalid: readonly string[];
}
type SettingSchema = TSchema & {
  readonly env: string;
  readonly envDefault?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
};

/** Valid and invalid text of each string format the schema names; a new format must be added here. */
const FORMAT_CASES: Readonly<Record<string, Cases>> = {
  listenHost: { valid: ["0.0.0.0", "127.0.0.1", "::"], invalid: ["not a host", "http://x"] },
  eventStoreConnectionString: { valid: [], invalid: ["http://eventstore:2113", "esdb://"] },
  mongodbConnectionString: { valid: [], invalid: ["http://mongo:27017", "mongodb://"] },
  postgresConnectionString: {
    valid: [],
    invalid: [
      "http://db:5432",
      "postgres://",
      "postgres://a:1,/db",
      "postgres://a:1,b:2/db?target_session_attrs=standby",
    ],
  },
  mongodbDatabaseName: { valid: ["parking", "a", "p".repeat(63)], invalid: ["a.b", "p".repeat(64)] },
  issuerIdentifier: { valid: [], invalid: ["ftp://issuer", "issuer"] },
  audience: { valid: ["parking-reservations", "urn:x"], invalid: ["two words"] },
  httpUrl: { valid: [], invalid: ["ftp://x", "not a url"] },
  claimPath: {
    valid: ["realm_access.roles", "/https:~1~1example.com~1roles", '"https://example.com/roles"'],
    invalid: ['"unclosed'],
  },
  algorithm: { valid: ["RS256", "EdDSA"], invalid: ["HS256", "none"] },
  roleMap: { valid: ["-", "parking admins=admin,cust=customer"], invalid: ["admins=king", "=admin"] },
  grantPrefix: { valid: ["-", "lots:", "x".repeat(100)], invalid: ["x".repeat(101)] },
  tokenType: { valid: ["at+jwt", "JWT"], invalid: ["a b,JWT"] },
  secret: { valid: [undefined, "s".repeat(32)], invalid: ["s".repeat(31)] },
  clientId: { valid: ["control-center", "a:b.c_d"], invalid: ["a b", "é"] },
  scope: { valid: ["openid", "openid profile"], invalid: ['"quoted"'] },
  absoluteUri: {
    valid: [undefined, "https://api.example.com", "urn:parking-reservations:api"],
    invalid: ["/path", "https://x#frag"],
  },
  webOrigin: {
    valid: [undefined, "https://app.example.com", "http://localhost:5173"],
    invalid: ["https://app.example.com/path", "app.example.com"],
  },
  providerKey: { valid: [], invalid: ["short", "has space in it"] },
  instanceName: {
    valid: ["parking-reservations", "production-eu", "x".repeat(100)],
    invalid: ["x".repeat(101), "a/b"],
  },
  directory: { valid: [], invalid: [] },
};

/** The values the schema's type gives: its bounds and one beyond each, its literals, both booleans. */
function typeCases(schema: SettingSchema): Cases {
  switch (schema[Kind]) {
    case "Integer": {
      const min = schema.minimum ?? 0;
      const max = schema.maximum;
      return {
        // The upper bound (or a large value) and the lower come first and second in every list, so
        // that configurations 0 and 1 hold every variable at its lower and upper edge.
        valid: [String(min), String(max ?? 2_147_483_647), schema.envDefault],
        invalid: [String(min - 1), ...(max === undefined ? [] : [String(max + 1)]), "1.5", "12x"],
      };
    }
    case "Number":
      return { valid: ["0", "1", "0.5"], invalid: ["-0.1", "1.5", "x"] };
    case "Boolean":
      return { valid: ["false", "true"], invalid: ["yes", "1"] };
    case "Union":
      return {
        valid: (schema.anyOf as { const: string }[]).map((s) => s.const),
        invalid: ["none-of-these"],
      };
  }
  const format = schema.format ?? (schema.items as SettingSchema | undefined)?.format;
  const cases = format === undefined ? undefined : FORMAT_CASES[format];
  if (!cases) throw new Error(`no cases for ${schema.env} (${format ?? String(schema[Kind])}): add them`);
  const optional = OptionalKind in schema;
  const singles = cases.valid.filter((v) => optional || v !== undefined);
  // A list takes each value alone and all of them at once.
  const all = singles.filter((v) => v !== undefined).join(",");
  const valid = schema[Kind] === "Array" && all !== "" ? [...singles, all] : singles;
  return {
    valid: valid.length > 0 ? valid : [optional ? undefined : schema.envDefault],
    invalid: cases.invalid,
  };
}

interface Collaborators {
  readonly oidc: TestProvider;
  readonly otlp: OtlpReceiver;
  readonly stripe: StripeServer;
}

/**
 * Values set by the test itself: a collaborator's address, a free port, a data folder of its own.
 * Lists of one length vary together (AUTH_ISSUER with AUTH_JWKS_URL, PAYMENTS with STRIPE_API_BASE).
 */
function collaboratorCases(c: Collaborators): Readonly<Record<string, readonly Value[]>> {
  return {
    // Every start traces, to the receiver (unset is every other test's case).
    OTEL_EXPORTER_OTLP_ENDPOINT: [c.otlp.endpoint],
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: [undefined, "http/json", "http/protobuf"],
    AUTH_ISSUER: [c.oidc.issuer, undefined],
    AUTH_JWKS_URL: [`${c.oidc.issuer}/jwks`, undefined],
    PAYMENTS: ["stripe", "none"],
    STRIPE_API_BASE: [c.stripe.url, "https://api.stripe.com"],
    STRIPE_SECRET_KEY: ["sk_test_configuration_matrix"],
    STRIPE_WEBHOOK_SECRET: ["whsec_configuration_matrix"],
    // No EventStoreDB or MongoDB runs here: the embedded stores (their adapters have their own
    // suites against real servers); their bad values are still refused below.
    EVENTSTORE_URL: [undefined],
    MONGODB_URL: [undefined],
  };
}

const SCHEMAS = Object.values(ConfigSchema.properties) as unknown as SettingSchema[];
const CASES = new Map(SCHEMAS.map((schema) => [schema.env, typeCases(schema)]));

/** The environment without any configuration variable of the developer's shell. */
function cleanEnv(): Record<string, string> {
  const names = new Set(CONFIG_VARIABLES.map((v) => v.name));
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !names.has(entry[0]),
    ),
  );
}

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | string>;
}

/** `node dist/app/main.js` in the project's folder, as `npm start` runs it. */
function startBuilt(env: Record<string, string>): Started {
  // A test that failed may leave its pool running: nothing starts once the file is done.
  if (finished) throw new Error("the file's tests are done");
  const child = spawn(process.execPath, [...SERVICE_ARGS], {
    cwd: PROJECT_ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // "close", not "exit": the output is then read to its end.
  const exited = new Promise<number | string>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return { child, output: () => `${stderr}${stdout}`, exited };
}

const startedChildren = new Set<ChildProcess>();
let finished = false;
const folders: string[] = [];

/** Runs `work` over `items`, `width` at a time. */
async function pooled<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/**
 * Starts `env` and answers what went wrong (undefined: it answered /readyz 200 and, for a role that
 * serves the API, exported the span of a sampled request). Stops it with SIGTERM either way.
 */
async function check(
  env: Record<string, string>,
  port: number,
  otlp: OtlpReceiver,
): Promise<string | undefined> {
  const started = startBuilt({ ...env, PORT: String(port) });
  startedChildren.add(started.child);
  const url = `http://127.0.0.1:${port}`;
  try {
    let ready = false;
    for (const deadline = Date.now() + 60_000; !ready && Date.now() < deadline; ) {
      if (started.child.exitCode !== null) return `exited at start:\n${started.output()}`;
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await sleep(100);
    }
    if (!ready) return `not ready within 60 s:\n${started.output()}`;
    if (env.ROLE === "projector") return undefined;
    // A sampled caller's trace is recorded whatever OTEL_TRACES_SAMPLER_ARG says.
    const traceId = `${port.toString(16).padStart(8, "0")}${"a".repeat(24)}`;
    // Asked again while no span came: at HTTP_MAX_CONNECTIONS=1 a new connection may be reset.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
      await fetch(`${url}/openapi.json`, {
        headers: { traceparent: `00-${traceId}-${"b".repeat(16)}-01` },
      }).catch(() => undefined);
      for (let i = 0; i < 10; i++, await sleep(100))
        if (otlp.spans().some((span) => span.traceId === traceId)) return undefined;
    }
    return `no span of trace ${traceId} reached the OTLP receiver:\n${started.output()}`;
  } finally {
    started.child.kill("SIGTERM");
    await Promise.race([started.exited, sleep(15_000)]);
    started.child.kill("SIGKILL");
    startedChildren.delete(started.child);
  }
}

/** A failing start's output, its lines that name the variable, and whether it is one line without a stack. */
async function refusal(env: Record<string, string>): Promise<{ code: number | string; lines: string[] }> {
  const started = startBuilt(env);
  startedChildren.add(started.child);
  const code = await Promise.race([started.exited, sleep(30_000).then(() => "still running")]);
  started.child.kill("SIGKILL");
  startedChildren.delete(started.child);
  return { code, lines: started.output().trimEnd().split("\n") };
}

describe("every documented configuration, on the built service", () => {
  let collaborators: Collaborators;
  beforeAll(async () => {
    const [oidc, otlp, stripe] = await Promise.all([
      startTestProvider({ redirectUris: ["http://127.0.0.1/control-center"] }),
      startOtlpReceiver(),
      startStripeServer(),
    ]);
    collaborators = { oidc, otlp, stripe };
  });
  afterAll(async () => {
    finished = true;
    for (const child of startedChildren) child.kill("SIGKILL");
    await Promise.all([
      collaborators?.oidc.stop(),
      collaborators?.otlp.close(),
      collaborators?.stripe.close(),
    ]);
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  const folder = (): string => {
    const made = mkdtempSync(join(tmpdir(), "설정 matrix-"));
    folders.push(made);
    return made;
  };

  it("starts with every variable at each of its edge and documented values, and exports spans", async () => {
    const overrides = collaboratorCases(collaborators);
    const valid = new Map(
      SCHEMAS.map((s) => [s.env, overrides[s.env] ?? (CASES.get(s.env)?.valid as Value[])]),
    );
    const count = Math.max(...[...valid.values()].map((values) => values.length));
    const configurations = Array.from({ length: count }, (_, i) => {
      const env: Record<string, string> = { OTEL_BSP_SCHEDULE_DELAY: "100" };
      for (const [name, values] of valid) {
        const value = values[i % values.length];
        if (value !== undefined) env[name] = value;
      }
      // Its own data folder, its name with a space and Hangul; the port is the free one it gets.
      env.DATA_DIR = join(folder(), "data");
      return env;
    });
    expect(count).toBeGreaterThanOrEqual(4);
    const ports = await freePorts(count);
    const failures: string[] = [];
    await pooled(
      configurations.map((env, i) => ({ env, port: ports[i] as number })),
      3,
      async ({ env, port }) => {
        const failure = await check(env, port, collaborators.otlp).catch(String);
        if (failure !== undefined) failures.push(`${JSON.stringify(env)}\n${failure}`);
      },
    );
    expect(failures).toEqual([]);
    // Both OTLP encodings were exported.
    expect([...collaborators.otlp.contentTypes].sort()).toEqual([
      "application/json",
      "application/x-protobuf",
    ]);
  });

  it("refuses each value past an edge at start, in one line naming the variable", async () => {
    const dataDir = join(folder(), "never-made");
    const file = join(folder(), "a-file");
    writeFileSync(file, "");
    // Each variable is read alone (a bad value is reported and its default used for the checks
    // after it), so start i sets every variable to its i-th bad value at once and must say one
    // line per variable: a few starts instead of hundreds.
    const bad = [...CASES].filter(([, cases]) => cases.invalid.length > 0);
    const rounds = Math.max(...bad.map(([, cases]) => cases.invalid.length));
    const cases: Record<string, string>[] = [
      ...Array.from({ length: rounds }, (_, i) =>
        Object.fromEntries(
          bad.flatMap(([variable, { invalid }]) =>
            i < invalid.length ? [[variable, invalid[i] as string]] : [],
          ),
        ),
      ),
      // The rules that tie variables together, each broken alone.
      { AUTH_JWKS_URL: "https://idp.example.com/jwks" },
      { AUTH_ISSUER: "http://idp.example.com" },
      { PROCESSOR_LEASE_RENEW_MS: "3000" },
      { PAYMENTS: "stripe", STRIPE_WEBHOOK_SECRET: "whsec_configuration" },
    ];
    const failures: string[] = [];
    const ports = await freePorts(cases.length + 1);
    await pooled(cases, 2, async (env) => {
      const { code, lines } = await refusal({ PORT: String(ports.pop()), DATA_DIR: dataDir, ...env });
      // One line per bad variable; PAYMENTS=stripe is fine alone, its missing key is what is named.
      const expected = env.PAYMENTS === "stripe" ? ["STRIPE_SECRET_KEY"] : Object.keys(env);
      const named = (name: string) =>
        lines.filter((line) => line.startsWith(`Invalid configuration: ${name}: `)).length === 1;
      if (code !== 2 || lines.length !== expected.length || !expected.every(named))
        failures.push(`${JSON.stringify(env)} → exit ${code}:\n${lines.join("\n")}`);
    });
    // A data folder that cannot be one: one line naming DATA_DIR.
    const { code, lines } = await refusal({ PORT: String(ports.pop()), DATA_DIR: file });
    if (code !== 1 || lines.length !== 1 || !lines[0]?.includes("DATA_DIR"))
      failures.push(`DATA_DIR=${file} → exit ${code}:\n${lines.join("\n")}`);
    expect(failures).toEqual([]);
  });
});
