import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

/**
 * Stripe's published OpenAPI document (the trimmed part in openapi-trimmed.json) as ajv
 * validators: every request the test server receives and every answer and webhook event it
 * sends is checked against it. OpenAPI 3.0 is turned into JSON Schema here: `nullable` becomes a
 * `null` alternative, references point into one registered document, `x-*` keywords are ignored.
 * Requests are validated with type coercion (form values are strings); the coerced params are
 * what the server then acts on.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

const DOC_ID = "stripe-openapi.json";

export const TRIMMED = JSON.parse(
  readFileSync(new URL("./openapi-trimmed.json", import.meta.url), "utf8"),
) as Schema & { paths: Record<string, Record<string, Schema>>; info: Schema };

function convert(node: Json): Json {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== "object") return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-") || key === "nullable") continue;
    if (key === "$ref" && typeof value === "string") out[key] = `${DOC_ID}${value}`;
    else if (key === "properties" && value && typeof value === "object" && !Array.isArray(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]));
    else out[key] = convert(value);
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === "string" && !out.enum) return { ...out, type: [out.type, "null"] };
  return { anyOf: [out, { type: "null" }] };
}

export interface Operation {
  readonly method: "get" | "post" | "delete";
  readonly path: string;
  readonly pattern: RegExp;
  readonly validateParams: ValidateFunction;
  readonly validateOk: ValidateFunction;
  readonly validateError: ValidateFunction;
}

function ajvFor(coerce: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, coerceTypes: coerce });
  ajv.addSchema({ $id: DOC_ID, components: convert(TRIMMED.components as Json) } as Schema);
  return ajv;
}

/** The params of an operation: its form body (POST) or its query parameters (GET). */
function paramsSchema(method: string, operation: Schema): Schema {
  if (method === "post") {
    const body = operation.requestBody as Schema | undefined;
    const content = body?.content as Record<string, Schema> | undefined;
    const schema = content?.["application/x-www-form-urlencoded"]?.schema;
    return (convert(schema ?? { type: "object", additionalProperties: false }) as Schema) ?? {};
  }
  const parameters = ((operation.parameters ?? []) as Schema[]).filter((p) => p.in === "query");
  return {
    type: "object",
    additionalProperties: false,
    properties: Object.fromEntries(parameters.map((p) => [p.name as string, convert(p.schema as Json)])),
  };
}

function responseSchema(operation: Schema, status: "200" | "default"): Schema {
  const responses = operation.responses as Record<string, Schema>;
  const content = responses[status]?.content as Record<string, Schema> | undefined;
  return convert(content?.["application/json"]?.schema ?? {}) as Schema;
}

let compiled: Operation[] | undefined;
let eventValidator: ValidateFunction | undefined;
let ajvs: { coercing: Ajv; strict: Ajv } | undefined;

function lazily(compile: () => ValidateFunction): ValidateFunction {
  let validate: ValidateFunction | undefined;
  const proxy = ((data: unknown) => {
    validate ??= compile();
    const ok = validate(data);
    proxy.errors = validate.errors;
    return ok;
  }) as ValidateFunction;
  return proxy;
}

/** The trimmed document's operations; each validator is compiled on its first use. */
export function operations(): Operation[] {
  if (compiled) return compiled;
  ajvs = { coercing: ajvFor(true), strict: ajvFor(false) };
  const { coercing, strict } = ajvs;
  compiled = [];
  for (const [path, item] of Object.entries(TRIMMED.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, "([^/]+)")}$`);
      compiled.push({
        method: method as Operation["method"],
        path,
        pattern,
        validateParams: lazily(() => coercing.compile(paramsSchema(method, operation))),
        validateOk: lazily(() => strict.compile(responseSchema(operation, "200"))),
        validateError: lazily(() => strict.compile(responseSchema(operation, "default"))),
      });
    }
  }
  eventValidator = lazily(() => strict.compile({ $ref: `${DOC_ID}#/components/schemas/event` }));
  return compiled;
}

export function findOperation(
  method: string,
  path: string,
): { operation: Operation; ids: string[] } | undefined {
  for (const operation of operations()) {
    if (operation.method !== method.toLowerCase()) continue;
    const match = operation.pattern.exec(path);
    if (match) return { operation, ids: match.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .slice(0, 20)
    .map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

const objectValidators = new Map<string, ValidateFunction>();

/** An event's envelope, and its `data.object` against the schema its `object` names. */
export function validateEvent(event: unknown): string[] {
  operations();
  const validate = eventValidator as ValidateFunction;
  if (!validate(event)) return describeErrors(validate.errors);
  const object = (event as { data?: { object?: { object?: unknown } } }).data?.object;
  const kind = String(object?.object ?? "");
  if (!(TRIMMED.components as { schemas: Schema }).schemas[kind])
    return [`data.object of unknown kind '${kind}'`];
  let validateObject = objectValidators.get(kind);
  if (!validateObject) {
    validateObject = (ajvs as { strict: Ajv }).strict.compile({
      $ref: `${DOC_ID}#/components/schemas/${kind}`,
    });
    objectValidators.set(kind, validateObject);
  }
  return validateObject(object) ? [] : describeErrors(validateObject.errors).map((e) => `data.object${e}`);
}

export const SPEC_SOURCE = TRIMMED.info;
