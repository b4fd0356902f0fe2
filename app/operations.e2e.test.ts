import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import SwaggerParser from "@apidevtools/swagger-parser";
import type { TSchema } from "@sinclair/typebox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RevokeSessionsBody, StartSessionBody } from "../platform/auth/sign-in-schemas.js";
import { PROCESSOR_NAMES, REACTOR_NAMES } from "../projections/processors.js";
import {
  CancelReservationBody,
  ChangeCapacityBody,
  ChangeCouponRuleBody,
  ChangeCustomerLimitBody,
  ChangeGateConfidenceBody,
  ChangePaymentTermsBody,
  ChangePlaceBody,
  ChangeRateBody,
  CloseParkingLotBody,
  EraseCustomerBody,
  OperatorCancelReservationBody,
  OperatorEraseCustomerBody,
  OperatorReserveParkingBody,
  RegisterParkingLotBody,
  ReserveParkingBody,
} from "../schemas/commands.js";
import { GateEventBody, ResolveGateReviewBody } from "../schemas/gates.js";
import { RefundPaymentBody, StripeWebhookEvent } from "../schemas/payment-requests.js";
import { CreateWebhookEndpointBody, ReplayWebhooksBody } from "../schemas/webhooks.js";
import { operatorHeaders } from "../test-support/auth.js";
import { PROJECT_ROOT, SERVICE_ARGS, type ServiceProcess } from "../test-support/process.js";
import {
  call,
  eventually,
  type JsonResponse,
  startTestService,
  tempDataDir,
} from "../test-support/service.js";
import { serviceProcesses } from "../test-support/spawned-services.js";

/**
 * The service as a new user meets it: started as a real process (`node dist/app/main.js`, as `npm start` runs it),
 * probed over HTTP only: health, readiness, metrics, the API description and docs, the logs on
 * stdout, and what a bad configuration does.
 */

type JsonObject = Record<string, unknown>;

interface OpenApiOperation {
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonObject }> };
  responses: Record<string, unknown>;
}
type OpenApiDocument = JsonObject & {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonObject> };
};

/** The document type swagger-parser takes (OpenAPI.Document of openapi-types, not a direct dependency). */
type ApiDocument = NonNullable<Parameters<SwaggerParser.ApiCallback>[1]>;

/** The JSON Schema as it appears on the wire: TypeBox symbols dropped, its `$id` removed. */
const wireSchema = (schema: TSchema): JsonObject =>
  JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === "$id" ? undefined : value)));

/** A sample of the Prometheus text exposition format (0.0.4): `name{label="v",…} value [timestamp]`. */
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:\\.|[^"\\])*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)|[+-]Inf|NaN)(?: -?\d+)?$/;
const TYPE_LINE = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/;
const HELP_LINE = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/;

interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

/** Parses the exposition text strictly: every line is HELP, TYPE or a sample of a declared family. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = TYPE_LINE.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (HELP_LINE.test(line)) continue;
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not Prometheus text format: ${JSON.stringify(line)}`);
    const name = sample[1] as string;
    const family = [name, name.replace(/_(bucket|sum|count|total|created)$/, "")].find((n) => types.has(n));
    if (!family) throw new Error(`sample of an undeclared metric family: ${line}`);
    samples.push({ name, labels: sample[2] ?? "", value: Number(sample[3]) });
  }
  return { types, samples };
}

const sampleValue = (samples: readonly Sample[], name: string, labels: string) =>
  samples.find((s) => s.name === name && s.labels === labels)?.value;

/** The routes an Express 5 app serves, as "METHOD /openapi/{style}" (walks the router stack). */
interface LayerLike {
  readonly rawPath?: unknown;
  readonly route?: { readonly path: string; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly LayerLike[] };
}
function servedRoutes(stack: readonly LayerLike[], served = new Set<string>(), mounts = new Set<string>()) {
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods);
      // app.all(): the 405 answer for methods a path does not take, not an operation of its own;
      // app.options(): the Allow list of a documented path, generated from the document.
      if (methods.length > 4 || (methods.length === 1 && methods[0] === "options")) continue;
      const path = layer.route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      for (const method of methods) served.add(`${method.toUpperCase()} ${path}`);
    } else if (layer.handle?.stack) {
      servedRoutes(layer.handle.stack, served, mounts);
    } else if (typeof layer.rawPath === "string" && layer.rawPath !== "/") {
      mounts.add(layer.rawPath);
    }
  }
  return { served, mounts };
}

describe("operating the service as a new user would (spawned process)", () => {
  const processes = serviceProcesses();
  const data = tempDataDir("parking-ops-");
  let service: ServiceProcess;
  /** What the process writes on stdout, captured from the moment it is healthy. */
  let stdout = "";
  let lot: JsonResponse;
  let reserved: JsonResponse;
  let unknownLot: JsonResponse;

  beforeAll(async () => {
    service = await processes.start({ DATA_DIR: data.dir, LOG_LEVEL: "debug" });
    service.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    // What a first session does (README): a lot, a reservation, and a command that is rejected.
    lot = await call(
      service.url,
      "POST",
      "/parking-lots",
      { parkingLotId: "ops-1", name: "강남 1주차장", capacity: 5 },
      { "X-Correlation-Id": "ops-register-1" },
    );
    reserved = await call(
      service.url,
      "POST",
      "/parking-lots/ops-1/reservations",
      { customerId: "CUST1", carNumber: "10더8612", amount: 5000 },
      { "X-Correlation-Id": "ops-reserve-1" },
    );
    unknownLot = await call(service.url, "POST", "/parking-lots/no-such-lot/reservations", {
      customerId: "CUST1",
      carNumber: "10더8612",
      amount: 5000,
    });
  });
  afterAll(async () => {
    await processes.killAll();
    data.remove();
  });

  it("/healthz answers 200, /readyz 200 with a check per store and projection", async () => {
    const health = await call(service.url, "GET", "/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok" });

    const ready = await call<{ status: string; checks: Record<string, { ok: boolean }> }>(
      service.url,
      "GET",
      "/readyz",
    );
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe("ready");
    expect(Object.keys(ready.body.checks).sort()).toEqual(
      [
        "documentStore",
        "eventStore",
        "identityProvider",
        "lifecycle",
        "storage",
        ...PROCESSOR_NAMES.map((name) => `${REACTOR_NAMES.has(name) ? "reactor" : "projection"}:${name}`),
      ].sort(),
    );
    for (const [name, check] of Object.entries(ready.body.checks)) expect(check.ok, name).toBe(true);
  });

  it("logs JSON lines on stdout that carry the X-Correlation-Id of the request", async () => {
    expect(lot.status).toBe(201);
    expect(lot.headers.get("x-correlation-id")).toBe("ops-register-1");
    expect(reserved.status).toBe(201);
    expect(reserved.headers.get("x-correlation-id")).toBe("ops-reserve-1");

    const line = await eventually(
      async () =>
        stdout
          .split("\n")
          .filter((l) => l.includes("ops-reserve-1"))
          .map((l) => JSON.parse(l) as JsonObject)
          .find((l) => l.msg === "request completed"),
      5_000,
      "the request log line",
    );
    expect(line).toMatchObject({
      correlationId: "ops-reserve-1",
      service: "parking-reservations",
      role: "all",
      res: { statusCode: 201 },
    });
    expect(typeof line.time).toBe("string");
    expect(typeof line.level).toBe("number");
    // Every line is one JSON object: nothing else is written to stdout.
    const lines = stdout.split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(service.output()).toContain('"msg":"started"');
  });

  it("/metrics is Prometheus text with the command, projection, coupon-policy and process metrics", async () => {
    expect(reserved.status).toBe(201);
    expect(unknownLot.status).toBe(404);

    // Lag and positions are sampled in the background (lag once a second): wait for them.
    const { response, parsed } = await eventually(
      async () => {
        const r = await fetch(`${service.url}/metrics`, { headers: await operatorHeaders(data.dir) });
        const p = parsePrometheus(await r.text());
        const lag = sampleValue(p.samples, "parking_projection_lag", '{projection="coupon-policy"}');
        const coupon = sampleValue(p.samples, "parking_projection_position", '{projection="coupon-policy"}');
        // The log holds the lot, the booking and its coupon (the policy has acted on them).
        return lag === 0 && coupon !== undefined && coupon >= 2 ? { response: r, parsed: p } : undefined;
      },
      10_000,
      "projection lag and coupon policy position in /metrics",
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsed;

    expect(types.get("parking_commands_total")).toBe("counter");
    expect(
      sampleValue(samples, "parking_commands_total", '{command="ReserveParking",outcome="accepted"}'),
    ).toBe(1);
    expect(
      sampleValue(samples, "parking_commands_total", '{command="ReserveParking",outcome="LotNotFound"}'),
    ).toBe(1);
    expect(
      sampleValue(samples, "parking_commands_total", '{command="RegisterParkingLot",outcome="accepted"}'),
    ).toBe(1);

    expect(types.get("parking_command_duration_seconds")).toBe("histogram");
    expect(
      sampleValue(
        samples,
        "parking_command_duration_seconds_count",
        '{command="ReserveParking",outcome="accepted"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      samples.some(
        (s) => s.name === "parking_command_duration_seconds_bucket" && s.labels.includes('le="+Inf"'),
      ),
    ).toBe(true);

    expect(types.get("parking_command_concurrency_retries_total")).toBe("counter");

    for (const projection of ["parking-lots", "reservations", "customer-coupons", "control-center"]) {
      const labels = `{projection="${projection}"}`;
      expect(sampleValue(samples, "parking_projection_position", labels), projection).toBeGreaterThanOrEqual(
        2,
      );
      expect(sampleValue(samples, "parking_projection_lag", labels), projection).toBeGreaterThanOrEqual(0);
    }
    expect(types.get("parking_projection_position")).toBe("gauge");
    expect(types.get("parking_projection_lag")).toBe("gauge");
    // The request thread's event loop: its longest delay since the last scrape, and no stall.
    expect(types.get("parking_event_loop_delay_max_seconds")).toBe("gauge");
    // The longest delay since the previous scrape: two scrapes a few ms apart may see no sample in
    // between (the histogram samples at its resolution), so read it once a while after the last.
    await sleep(250);
    const later = parsePrometheus(
      await (await fetch(`${service.url}/metrics`, { headers: await operatorHeaders(data.dir) })).text(),
    );
    expect(sampleValue(later.samples, "parking_event_loop_delay_max_seconds", "")).toBeGreaterThan(0);
    expect(types.get("parking_event_loop_stalls_total")).toBe("counter");
    expect(sampleValue(samples, "parking_event_loop_stalls_total", "")).toBe(0);

    // Default process metrics of prom-client.
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(
        samples.some((s) => s.name === name),
        name,
      ).toBe(true);
    }
  });

  it("/openapi.json is a valid OpenAPI 3.1 document whose request bodies are the command schemas", async () => {
    const response = await fetch(`${service.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toBe("3.1.0");
    // validate() dereferences in place: give it a copy.
    await expect(
      SwaggerParser.validate(structuredClone(document) as unknown as ApiDocument),
    ).resolves.toBeDefined();

    const STRIPE_WEBHOOK = "post /payments/webhooks/stripe";
    // Each operation's body schemas: one, or one per role (anyOf, the roles in x-role-schemas).
    const bodies: Record<string, TSchema[]> = {
      "post /parking-lots": [RegisterParkingLotBody],
      "post /parking-lots/{parkingLotId}/reservations": [ReserveParkingBody, OperatorReserveParkingBody],
      "delete /parking-lots/{parkingLotId}/reservations/{reservationId}": [
        CancelReservationBody,
        OperatorCancelReservationBody,
      ],
      "post /parking-lots/{parkingLotId}/closures": [CloseParkingLotBody],
      "post /parking-lots/{parkingLotId}/gate-events": [GateEventBody],
      "post /parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve": [ResolveGateReviewBody],
      "put /parking-lots/{parkingLotId}/capacity": [ChangeCapacityBody],
      "put /parking-lots/{parkingLotId}/rate": [ChangeRateBody],
      "put /parking-lots/{parkingLotId}/coupon-rule": [ChangeCouponRuleBody],
      "put /parking-lots/{parkingLotId}/customer-limit": [ChangeCustomerLimitBody],
      "put /parking-lots/{parkingLotId}/gate-confidence": [ChangeGateConfidenceBody],
      "put /parking-lots/{parkingLotId}/payment-terms": [ChangePaymentTermsBody],
      "put /parking-lots/{parkingLotId}/place": [ChangePlaceBody],
      "post /customers/{customerId}/erasure": [EraseCustomerBody, OperatorEraseCustomerBody],
      "post /parking-lots/{parkingLotId}/reservations/{reservationId}/refund": [RefundPaymentBody],
      [STRIPE_WEBHOOK]: [StripeWebhookEvent],
      "post /sign-in/session": [StartSessionBody],
      "post /sessions/revoke": [RevokeSessionsBody],
      "post /webhook-endpoints": [CreateWebhookEndpointBody],
      "post /webhook-endpoints/{endpointId}/replay": [ReplayWebhooksBody],
    };
    const component = (schema: JsonObject | undefined) =>
      // Bodies are named components: follow the $ref to the schema on the wire.
      typeof schema?.$ref === "string"
        ? (document.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")] as JsonObject)
        : schema;
    const documented: Record<string, JsonObject[]> = {};
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const named = operation.requestBody?.content["application/json"]?.schema as JsonObject | undefined;
        if (!named) continue;
        const alternatives = Array.isArray(named.anyOf) ? (named.anyOf as JsonObject[]) : [named];
        documented[`${method} ${path}`] = alternatives.map(
          (alternative) => component(alternative) as JsonObject,
        );
      }
    }
    expect(Object.keys(documented).sort()).toEqual(Object.keys(bodies).sort());
    for (const [operation, schemas] of Object.entries(bodies)) {
      const onTheWire = documented[operation] as JsonObject[];
      expect(onTheWire, operation).toHaveLength(schemas.length);
      schemas.forEach((schema, i) => {
        const wire = onTheWire[i] as JsonObject;
        expect(wire, operation).toEqual(wireSchema(schema));
        // Every body of ours refuses unknown fields; a Stripe event is Stripe's, which adds fields
        // as its API grows (its signature, not its shape, is what the service trusts).
        expect(wire.additionalProperties, operation).toBe(operation === STRIPE_WEBHOOK);
        expect([...((wire.required as string[] | undefined) ?? [])].sort(), operation).toEqual(
          [...((schema.required as string[] | undefined) ?? [])].sort(),
        );
      });
    }
    expect(documented["post /parking-lots"]?.[0]?.required).toEqual(["name", "capacity"]);
    expect(documented["post /parking-lots/{parkingLotId}/reservations"]?.[0]?.required).toEqual([
      "carNumber",
    ]); // amount is optional since windows: a lot with an hourly rate prices the window itself
  });

  it("/openapi.json documents every route the app serves, and every documented operation is routed", async () => {
    const document = (await (await fetch(`${service.url}/openapi.json`)).json()) as OpenApiDocument;
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );

    // The routes come from the app itself (ROLE=all serves them all), built in this process.
    const dir = tempDataDir("parking-ops-routes-");
    const local = await startTestService(dir.dir);
    let served: Set<string>;
    let mounts: Set<string>;
    try {
      const app = local.server.listeners("request")[0] as unknown as { router: { stack: LayerLike[] } };
      ({ served, mounts } = servedRoutes(app.router.stack));
    } finally {
      await local.shutdown("routes listed");
      dir.remove();
    }
    // The documentation itself: the document, its browsable page and the problem-type pages.
    const documentation = new Set(["GET /openapi.json", "GET /problems/{name}"]);
    // Mounted sub-apps: the browsable API docs and the control-center page's bundled assets.
    expect([...mounts]).toEqual(["/docs", "/assets"]);
    expect([...served].filter((r) => !documented.has(r) && !documentation.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    expect(served.size).toBeGreaterThanOrEqual(14);

    // And over HTTP: each documented operation reaches its handler (never the generic 404/405).
    const sample: Record<string, string> = {
      parkingLotId: "no-such-lot",
      reservationId: "0190a0a0-0000-7000-8000-000000000000",
      customerId: "CUST-NONE",
      name: "parking-lot-full",
    };
    for (const route of documented) {
      const [method = "", template = ""] = route.split(" ");
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => sample[name] ?? name);
      const r = await fetch(`${service.url}${path}`, {
        method,
        headers: {
          ...(await operatorHeaders(data.dir)),
          ...(method === "GET" ? {} : { "content-type": "application/json" }),
        },
        ...(method === "GET" ? {} : { body: "{}" }),
      });
      // An event stream never ends by itself: its headers are the answer.
      const stream = r.headers.get("content-type")?.startsWith("text/event-stream");
      if (stream) await r.body?.cancel();
      const text = stream ? "{}" : await r.text();
      expect(r.status, route).not.toBe(405);
      if (r.status === 404)
        expect((JSON.parse(text) as JsonObject).type, route).not.toBe("/problems/not-found");
    }
  });

  it("/docs serves the Swagger UI page, which loads this document converted to OpenAPI 3.0 (issue 69)", async () => {
    const page = await fetch(`${service.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${service.url}/docs/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).toContain("<title>Parking reservations API</title>");
    const scripts = [...html.matchAll(/<script src="\.\/([^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts).toContain("swagger-ui-init.js");
    for (const asset of [...scripts, "swagger-ui.css"]) {
      expect((await fetch(`${service.url}/docs/${asset}`)).status, asset).toBe(200);
    }
    const init = await (await fetch(`${service.url}/docs/swagger-ui-init.js`)).text();
    expect(init).toMatch(/"url":\s*"\/docs\/openapi-3\.0\.json"/);
    // The same operations as /openapi.json, in the 3.0 Swagger UI lists quickly (bench/docs-page.ts).
    const [converted, document] = await Promise.all(
      [`${service.url}/docs/openapi-3.0.json`, `${service.url}/openapi.json`].map(
        async (url) => (await (await fetch(url)).json()) as { openapi: string; paths: object },
      ),
    );
    expect(converted?.openapi).toMatch(/^3\.0\./);
    expect(document?.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(converted?.paths ?? {})).toEqual(Object.keys(document?.paths ?? {}));
  });
});

describe("a bad configuration", () => {
  const dirs: Array<{ remove: () => void }> = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it("exits non-zero with a message naming each bad variable, without starting", async () => {
    const parent = tempDataDir("parking-ops-badconfig-");
    dirs.push(parent);
    const dataDir = join(parent.dir, "never-created");
    const child = spawn(process.execPath, [...SERVICE_ARGS], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PORT: "80x", ROLE: "boss", DATA_DIR: dataDir, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
    );
    try {
      const code = await Promise.race([exited, sleep(30_000).then(() => "still running")]);
      expect(code).toBe(2);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    // One line per bad variable, and nothing else.
    expect(stderr.trimEnd().split("\n")).toEqual([
      'Invalid configuration: ROLE: expected one of all, command-api, projector, query-api, got "boss"',
      'Invalid configuration: PORT: expected an integer from 1 to 65535, got "80x"',
    ]);
    // Nothing started: no log line, no listener, no stores opened.
    expect(stdout).toBe("");
    expect(stderr).not.toContain("listening");
    expect(existsSync(dataDir)).toBe(false);
  });
});
