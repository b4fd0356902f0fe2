import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { OpenAPIBackend } from "openapi-backend";
import { serviceAccess } from "../app/access.js";
import { openApiDocument } from "../app/surface/document.js";
import { SERVICE_FORMATS } from "../schemas/common.js";

/**
 * Checks a response of the service against its OpenAPI document (the very document it serves at
 * /openapi.json; app/openapi.e2e.test.ts checks they are equal): the status must be documented
 * for the operation, the content type must be one the response documents, the body must match
 * its schema and the headers theirs (openapi-backend, ajv underneath), and every header sent must
 * be declared on that response (but for the few in UNDECLARED_HEADERS). A problem document's
 * `type` must be one the document lists for that operation and status. A documented path asked
 * with a method it lacks must answer 405 with Allow (or 204 with Allow for OPTIONS).
 *
 * test-support/contract-setup.ts runs every fetch of the e2e suites through this.
 */

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: unknown) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

type Document = ReturnType<typeof openApiDocument>;
interface ResponseObject {
  content?: Record<string, unknown>;
}
interface OperationObject {
  operationId: string;
  responses: Record<string, ResponseObject>;
}

/**
 * Response headers that need no declaration in the document: what any HTTP answer may carry for
 * its representation, its transport, caching and CORS, and the security headers helmet puts on
 * every answer. Every other header must be declared on the response it comes with.
 */
const UNDECLARED_HEADERS: ReadonlySet<string> = new Set([
  // representation and transport (RFC 9110, RFC 9112)
  "content-type",
  "content-length",
  "transfer-encoding",
  "content-encoding",
  "date",
  "connection",
  "keep-alive",
  "vary",
  // caching (RFC 9111, RFC 9110 validators; static files)
  "cache-control",
  "etag",
  "last-modified",
  "accept-ranges",
  // security headers (helmet, and the page's own Content-Security-Policy)
  "content-security-policy",
  "cross-origin-opener-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "referrer-policy",
  "strict-transport-security",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-frame-options",
  "x-permitted-cross-domain-policies",
  "x-xss-protection",
  // Stoplight Prism's report, when deploy/prism/check.sh runs the client suite through it
  "sl-violations",
]);
const undeclaredAllowed = (name: string) =>
  UNDECLARED_HEADERS.has(name) || name.startsWith("access-control-");

let backend: Promise<OpenAPIBackend> | undefined;
function api(): Promise<OpenAPIBackend> {
  backend ??= (async () => {
    // Dereferenced first by swagger-parser: openapi-backend's quick mode leaves repeated $refs.
    const definition = await SwaggerParser.dereference(
      structuredClone(openApiDocument(serviceAccess)) as never,
    );
    const instance = new OpenAPIBackend({
      definition: definition as never,
      // quick: no check of the document itself (openapi-backend's checker knows OpenAPI 3.0 only;
      // Redocly lint checks the 3.1 document in npm test), refs resolved in process.
      strict: true,
      validate: true,
      quick: true,
      customizeAjv: (ajv) => {
        addFormats(ajv);
        for (const [name, test] of Object.entries(SERVICE_FORMATS)) ajv.addFormat(name, test);
        return ajv;
      },
    });
    await instance.init();
    return instance;
  })();
  return backend;
}

/**
 * openapi-backend validates `application/json` bodies only, so problem documents
 * (`application/problem+json`) are checked here, against the same dereferenced schemas.
 */
const problemAjv = new Ajv({ strict: false, allErrors: true });
addFormats(problemAjv);
for (const [name, test] of Object.entries(SERVICE_FORMATS)) problemAjv.addFormat(name, test);
const problemValidators = new Map<string, ValidateFunction>();
const problemSchema = (instance: OpenAPIBackend, operationId: string, status: number) =>
  (
    instance.getOperation(operationId)?.responses?.[String(status)] as
      | { content?: Record<string, { schema?: object }> }
      | undefined
  )?.content?.["application/problem+json"]?.schema;
function problemValidator(instance: OpenAPIBackend, operationId: string, status: number) {
  const key = `${operationId} ${status}`;
  if (!problemValidators.has(key)) {
    const schema = problemSchema(instance, operationId, status);
    if (schema) problemValidators.set(key, problemAjv.compile(schema));
  }
  return problemValidators.get(key);
}

/**
 * The problem `type`s the document lists for this answer: the enum its problem schema puts on
 * `type` (app/surface/problem-responses.ts: allOf [Problem, { type: { enum } }]); undefined if it lists none.
 */
function documentedProblemTypes(instance: OpenAPIBackend, operationId: string, status: number) {
  const schema = problemSchema(instance, operationId, status) as
    | { allOf?: { properties?: { type?: { enum?: string[] } } }[] }
    | undefined;
  return schema?.allOf?.find((part) => part.properties?.type?.enum)?.properties?.type?.enum;
}

const paths = (): [RegExp, string, Record<string, OperationObject>][] => {
  const doc = openApiDocument(serviceAccess) as Document & {
    paths: Record<string, Record<string, OperationObject>>;
  };
  return (
    Object.entries(doc.paths)
      .map(([template, item]): [RegExp, string, Record<string, OperationObject>] => [
        new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{\w+\}/g, "[^/]+")}$`),
        template,
        item,
      ])
      // Literal paths before templated ones: /control-center/events is not /control-center/{x}.
      .sort((a, b) => (a[1].match(/\{/g)?.length ?? 0) - (b[1].match(/\{/g)?.length ?? 0))
  );
};
let pathTable: ReturnType<typeof paths> | undefined;

export interface ObservedResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, the text, or undefined when the body was not read (streams). */
  readonly body: unknown;
}

/** The mismatches between a response and the document; empty when it conforms. */
export async function contractViolations(response: ObservedResponse): Promise<string[]> {
  pathTable ??= paths();
  const method = response.method.toLowerCase();
  const pathname = decodeURI(response.path.split("?")[0] ?? "/");
  const match = pathTable.find(([pattern]) => pattern.test(pathname));
  const what = `${response.method} ${response.path} -> ${response.status}`;
  const contentType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (!match) {
    // Not an API path (static assets, /docs, or an unknown path): only problems are checked.
    // Rate limits and access control answer before any route (429; 401/403, unknown routes are
    // operator-only).
    if (contentType === "application/problem+json" && ![401, 403, 404, 429].includes(response.status)) {
      return [`${what}: an undocumented path answered a problem other than 401, 403, 404 or 429`];
    }
    return [];
  }
  const [, template, item] = match;
  // A process of another role (ROLE=command has no queries, and the reverse) answers the generic
  // 404 for paths it does not serve; a gateway routes those paths elsewhere.
  if (response.status === 404 && (response.body as { type?: string })?.type === "/problems/not-found")
    return [];
  const operation = item[method];
  if (!operation) {
    const allow = response.headers.get("allow");
    if (method === "options")
      return response.status === 204 && allow ? [] : [`${what}: OPTIONS without Allow`];
    if (response.status !== 405 || !allow)
      return [`${what}: ${template} has no ${method} operation in the document`];
    const documented = Object.keys(item)
      .map((m) => m.toUpperCase())
      .sort();
    const allowed = allow
      .split(",")
      .map((m) => m.trim())
      .sort();
    return documented.join() === allowed.join()
      ? []
      : [`${what}: Allow "${allow}" but the document has ${documented.join(", ")}`];
  }
  const documentedResponse = operation.responses[String(response.status)];
  if (!documentedResponse) {
    return [
      `${what}: status ${response.status} is not documented for ${operation.operationId} (documented: ${Object.keys(operation.responses).join(", ")})`,
    ];
  }
  const violations: string[] = [];
  const content = documentedResponse.content;
  if (content && response.status !== 204 && !(contentType in content)) {
    violations.push(
      `${what}: content type "${contentType}" is not documented (documented: ${Object.keys(content).join(", ")})`,
    );
  }
  const backend = await api();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const headerResult = backend.validateResponseHeaders(headers, operation.operationId, {
    statusCode: response.status,
    setMatchType: "any" as never, // values only: openapi-backend ignores `required` of headers
  });
  const dereferenced = backend.getOperation(operation.operationId)?.responses?.[String(response.status)] as
    | { headers?: Record<string, { required?: boolean }> }
    | undefined;
  const declaredHeaders = dereferenced?.headers ?? {};
  for (const [name, declared] of Object.entries(declaredHeaders)) {
    if (declared.required && !response.headers.has(name))
      violations.push(`${what}: header ${name} is missing`);
  }
  const declaredNames = new Set(Object.keys(declaredHeaders).map((name) => name.toLowerCase()));
  response.headers.forEach((_value, name) => {
    if (!declaredNames.has(name) && !undeclaredAllowed(name))
      violations.push(
        `${what}: header ${name} is not declared for ${operation.operationId} ${response.status} (declared: ${[...declaredNames].join(", ")})`,
      );
  });
  for (const error of headerResult.errors ?? []) {
    violations.push(`${what}: header ${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`);
  }
  if (contentType === "application/problem+json" && response.body !== undefined) {
    const type = String((response.body as { type?: unknown })?.type);
    const types = documentedProblemTypes(backend, operation.operationId, response.status);
    if (!types) {
      violations.push(
        `${what}: the document lists no problem types for ${operation.operationId} ${response.status}`,
      );
    } else if (!types.includes(type)) {
      violations.push(
        `${what}: problem type ${type} is not one ${operation.operationId} documents for ${response.status} (documented: ${types.join(", ")})`,
      );
    }
    const validate = problemValidator(backend, operation.operationId, response.status);
    if (validate && !validate(response.body)) {
      // A type outside the enum is reported above, by name.
      const errors = (validate.errors ?? []).filter(
        (e) => !(e.instancePath === "/type" && e.keyword === "enum"),
      );
      for (const error of errors) {
        violations.push(
          `${what}: body${error.instancePath} ${error.message} ${JSON.stringify(error.params)} in ${JSON.stringify(response.body).slice(0, 300)}`,
        );
      }
    }
  }
  if (contentType === "application/json" && response.body !== undefined) {
    const bodyResult = backend.validateResponse(response.body, operation.operationId, response.status);
    for (const error of bodyResult.errors ?? []) {
      violations.push(
        `${what}: body${error.instancePath} ${error.message} ${JSON.stringify(error.params)} in ${JSON.stringify(response.body).slice(0, 300)}`,
      );
    }
  }
  return violations;
}

export class ContractViolation extends Error {
  override name = "ContractViolation";
}

/** Throws when the response does not conform to the document. */
export async function assertConforms(response: ObservedResponse): Promise<void> {
  const violations = await contractViolations(response);
  if (violations.length)
    throw new ContractViolation(`Response breaks the OpenAPI document:\n${violations.join("\n")}`);
}
