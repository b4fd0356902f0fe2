import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_FORMATS } from "../schemas/common.js";
import { ANONYMOUS, customerHeaders, operatorHeaders } from "../test-support/auth.js";
import { arbitraryOf, type Schema } from "../test-support/json-schema-arbitrary.js";
import { call, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/** The fields an operation's description names as rules: `` `field` `` at the start of each rule line. */
function ruleFields(description: string): Set<string> {
  const fields = new Set<string>();
  for (const match of description.matchAll(/^- `([^`]+)`/gm)) if (match[1]) fields.add(match[1]);
  return fields;
}

/**
 * The request side of the document, held to the service: requests generated from the served
 * /openapi.json (test-support/json-schema-arbitrary.ts, each checked against its schemas with
 * ajv before it is sent) go to a real service as an operator, a customer and anonymously, and
 * - no answer is a 5xx;
 * - every answer validates against the document (test-support/contract-setup.ts checks each one
 *   this suite's fetch receives, and fails the request that broke it);
 * - a 400 to a schema-valid request names, in `errors[].field`, a rule the operation's
 *   description lists ("Rules beyond the schemas"): the document says everything the service
 *   refuses.
 */

type AddFormats = (ajv: unknown) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

type Role = "operator" | "customer" | "anonymous";
const ROLES: readonly Role[] = ["operator", "customer", "anonymous"];

interface Parameter {
  readonly name: string;
  readonly in: "path" | "query" | "header";
  readonly required?: boolean;
  readonly schema: Schema;
}
interface OperationObject {
  readonly operationId: string;
  readonly description: string;
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: {
    readonly required?: boolean;
    readonly content: { readonly "application/json": { readonly schema: Schema } };
    readonly "x-role-schemas"?: Partial<Record<Role, Schema>>;
  };
}

interface GeneratedRequest {
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

/** Requests per operation and role: 27 operations x 3 roles x 20, about 1,600 requests (~10 s). */
const RUNS = 20;
const SEED = Number(process.env.REQUEST_PROPERTIES_SEED ?? 23);

const data = tempDataDir("parking-request-properties-");
let service: RunningService;
let document: { paths: Record<string, Record<string, OperationObject>> };
const auth: Record<Role, Record<string, string>> = { operator: {}, customer: {}, anonymous: ANONYMOUS };
const known: Record<string, string[]> = {
  parkingLotId: ["pb-plain", "pb-rated"],
  reservationId: [],
  customerId: ["PB-CUST"],
};

const ajv = new Ajv2020({ strict: false, allErrors: false, unicodeRegExp: true });
addFormats(ajv);
for (const [name, test] of Object.entries(SERVICE_FORMATS)) ajv.addFormat(name, test);
const validators = new Map<Schema, (value: unknown) => boolean>();
const valid = (schema: Schema, value: unknown) => {
  let check = validators.get(schema);
  if (!check) {
    check = ajv.compile(schema) as (value: unknown) => boolean;
    validators.set(schema, check);
  }
  return check(value);
};

beforeAll(async () => {
  service = await startTestService(data.dir);
  auth.operator = await operatorHeaders(data.dir, "ops-properties");
  auth.customer = await customerHeaders(data.dir, "PB-CUST");
  const served = await call(service.url, "GET", "/openapi.json", undefined, ANONYMOUS);
  document = (await SwaggerParser.dereference(served.body as never)) as unknown as typeof document;
  for (const lot of [
    { parkingLotId: "pb-plain", name: "Plain", capacity: 3 },
    { parkingLotId: "pb-rated", name: "Rated", capacity: 3, hourlyRate: 1200 },
  ])
    expect((await call(service.url, "POST", "/parking-lots", lot)).status).toBe(201);
  const reserved = await call<{ reservationId: string }>(
    service.url,
    "POST",
    "/parking-lots/pb-plain/reservations",
    { carNumber: "12가3456", amount: 1000 },
    auth.customer,
  );
  expect(reserved.status).toBe(201);
  known.reservationId?.push(reserved.body.reservationId);
});

afterAll(async () => {
  await service?.shutdown("test done", { drain: false });
  data.remove();
});

/** A request of `operation` for `role`, every part drawn from its schema (the role's body schema, if it has one). */
function requestOf(path: string, operation: OperationObject, role: Role): fc.Arbitrary<GeneratedRequest> {
  const options = { known, maxStringLength: 60 };
  const parameters = operation.parameters ?? [];
  const part = (where: Parameter["in"]) =>
    fc.record(
      Object.fromEntries(
        parameters
          .filter((p) => p.in === where)
          .map((p) => [p.name, arbitraryOf(p.schema, { ...options, ascii: where === "header" }, p.name)]),
      ),
      {
        requiredKeys: parameters
          .filter((p) => p.in === where && (p.required || where === "path"))
          .map((p) => p.name),
      },
    );
  const body = operation.requestBody;
  const bodySchema = body?.["x-role-schemas"]?.[role] ?? body?.content["application/json"].schema;
  const bodyArbitrary: fc.Arbitrary<unknown> = bodySchema
    ? body?.required || body?.["x-role-schemas"]?.[role]
      ? arbitraryOf(bodySchema, options)
      : fc.option(arbitraryOf(bodySchema, options), { nil: undefined })
    : fc.constant(undefined);
  return fc
    .record({ path: part("path"), query: part("query"), headers: part("header"), body: bodyArbitrary })
    .filter(
      (r) =>
        (bodySchema === undefined || r.body === undefined || valid(bodySchema, r.body)) &&
        parameters.every((p) => {
          const value = (r[p.in === "header" ? "headers" : p.in] as Record<string, unknown>)[p.name];
          return value === undefined || valid(p.schema, value);
        }),
    )
    .map((r) => ({
      path: path.replace(/\{(\w+)\}/g, (_m, name: string) =>
        encodeURIComponent(String((r.path as Record<string, unknown>)[name])),
      ),
      query: Object.fromEntries(Object.entries(r.query).map(([k, v]) => [k, String(v)])),
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
      ...(r.body === undefined ? {} : { body: r.body }),
    }));
}

async function send(method: string, request: GeneratedRequest, role: Role) {
  const search = new URLSearchParams(request.query).toString();
  const response = await fetch(`${service.url}${request.path}${search ? `?${search}` : ""}`, {
    method: method.toUpperCase(),
    headers: {
      ...request.headers,
      ...(role === "anonymous" ? {} : auth[role]),
      ...(request.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const type = response.headers.get("content-type") ?? "";
  // A stream never ends: its status and headers are what there is to check.
  if (type.startsWith("text/event-stream")) {
    await response.body?.cancel();
    return { status: response.status, problem: undefined };
  }
  const text = await response.text();
  return {
    status: response.status,
    problem: type.startsWith("application/problem+json")
      ? (JSON.parse(text) as { type: string; detail?: string; errors?: { field: string }[] })
      : undefined,
  };
}

/** `body.startsAt` → `startsAt`: the rule lines name fields as the operation's inputs call them. */
const bare = (field: string) => field.replace(/^(body|query|path|header)\./, "");

describe("requests generated from the served document", () => {
  it("get no 5xx, answers that match the document, and 400s only for rules the description lists", async () => {
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const listed = ruleFields(operation.description);
        for (const role of ROLES) {
          await fc.assert(
            fc.asyncProperty(requestOf(path, operation, role), async (request) => {
              const { status, problem } = await send(method, request, role);
              sent++;
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              const what = `${role} ${method.toUpperCase()} ${request.path} ${JSON.stringify(request)}`;
              expect(status, `${what}: ${JSON.stringify(problem)}`).toBeLessThan(500);
              if (status === 400) {
                const fields = (problem?.errors ?? []).map((e) => bare(e.field));
                expect(
                  fields.length,
                  `${what}: a 400 names no field: ${JSON.stringify(problem)}`,
                ).toBeGreaterThan(0);
                for (const field of fields)
                  expect(
                    listed.has(field),
                    `${what}: 400 names ${field}, which ${operation.operationId}'s description lists no rule for (${[...listed].join(", ")}): ${JSON.stringify(problem)}`,
                  ).toBe(true);
              }
            }),
            { numRuns: RUNS, seed: SEED, endOnFailure: true },
          );
        }
      }
    }
    // Every operation was called by every role, and the answers were not all one kind.
    expect(sent).toBeGreaterThanOrEqual(
      Object.values(document.paths).flatMap(Object.keys).length * ROLES.length * RUNS,
    );
    expect([...statuses.keys()].filter((s) => s < 300).length).toBeGreaterThan(0);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(2);
  });
});
