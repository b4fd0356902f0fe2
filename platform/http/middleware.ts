import { randomUUID } from "node:crypto";
import type { TSchema } from "@sinclair/typebox";
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "../logger.js";
import { FORBIDDEN_TEXT } from "../plain-text.js";
import { precompile, SchemaValidationError, validate } from "../validation.js";
import type { LoggedPath } from "./access-log.js";
import { ProblemError, type ProblemName, problemDocument, problemType, problemTypes } from "./problem.js";

/** What a caller's X-Correlation-Id must look like (the document's parameter says the same). */
export const CORRELATION_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$";
const CORRELATION_ID = new RegExp(CORRELATION_ID_PATTERN);

type WithCorrelation = Request & { correlationId: string; illFormedCorrelationId?: boolean };

/** The correlation id of the request: the caller's X-Correlation-Id, or a new one when none was sent. */
export function correlationId(req: Request): string {
  return (req as WithCorrelation).correlationId;
}

/**
 * Every request gets a correlation id at once (so every answer, a refusal included, carries one):
 * the caller's if well-formed, else a new one. An ill-formed one is refused by
 * refuseIllFormedCorrelationId, once the answer can be logged and counted.
 */
export const assignCorrelationId: RequestHandler = (req, res, next) => {
  const incoming = req.get("x-correlation-id");
  const wellFormed = incoming !== undefined && CORRELATION_ID.test(incoming);
  (req as WithCorrelation).correlationId = wellFormed ? incoming : randomUUID();
  if (incoming !== undefined && !wellFormed) (req as WithCorrelation).illFormedCorrelationId = true;
  res.setHeader("X-Correlation-Id", correlationId(req));
  next();
};

/** An X-Correlation-Id that does not match CORRELATION_ID_PATTERN is a 400 naming the header. */
export const refuseIllFormedCorrelationId: RequestHandler = (req, _res, next) => {
  if (!(req as WithCorrelation).illFormedCorrelationId) {
    next();
    return;
  }
  next(
    new ProblemError(
      "validation",
      "The X-Correlation-Id header is ill-formed; send 1 to 64 letters, digits and `_ . : -`, starting with a letter or digit, or leave it out.",
      {
        errors: [{ field: "header.X-Correlation-Id", message: `must match ${CORRELATION_ID_PATTERN}` }],
      },
    ),
  );
};

/** Where an input came from, used to name the wrong field (`body.capacity`, `path.parkingLotId`). */
export type InputSource = "body" | "path" | "query" | "header";

/**
 * The first schema seen with the same JSON shape. Routes may build a schema per request (say
 * `Type.Object({ reservationId: ReservationId })` inline); the validator cache is keyed by the
 * schema object, so each of those would be compiled by ajv again (and kept by ajv's own cache)
 * on every request. Mapping equal shapes to one object compiles each shape once.
 */
const canonicalSchemas = new WeakMap<TSchema, TSchema>();
const schemasByShape = new Map<string, TSchema>();
const MAX_SHAPES = 1000;

function canonicalSchema<S extends TSchema>(schema: S): S {
  const known = canonicalSchemas.get(schema);
  if (known) return known as S;
  const shape = JSON.stringify(schema);
  let canonical = schemasByShape.get(shape);
  if (!canonical) {
    canonical = schema;
    if (schemasByShape.size < MAX_SHAPES) schemasByShape.set(shape, schema);
  }
  canonicalSchemas.set(schema, canonical);
  return canonical as S;
}

/** Compiles now the validators validInput will use for these schemas (the first request pays none). */
export const precompileInputs = (...schemas: TSchema[]): void => precompile(...schemas.map(canonicalSchema));

/** The most field errors one answer lists (a hostile body could otherwise make a huge one). */
export const MAX_LISTED_ERRORS = 20;

/**
 * Every string of a request, NFC-normalized (so "강남" typed as decomposed jamo is the same name),
 * with the fields that hold forbidden characters listed. Copy on write: an array or object none of
 * whose strings changed is returned as it is (most requests' text is NFC already), a changed one is
 * a copy; the input is never modified. A field's path is only written out for an error.
 */
function normalizedText(value: unknown, path: string, errors: { field: string; message: string }[]): unknown {
  if (typeof value === "string") return normalizedString(value, errors, path);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const normalized =
        typeof item === "string"
          ? normalizedString(item, errors, path, i)
          : item !== null && typeof item === "object"
            ? normalizedText(item, `${path}[${i}]`, errors)
            : item;
      if (normalized !== item) {
        copy ??= value.slice();
        copy[i] = normalized;
      }
    }
    return copy ?? value;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      const normalized =
        typeof item === "string"
          ? normalizedString(item, errors, path, key)
          : item !== null && typeof item === "object"
            ? normalizedText(item, `${path}.${key}`, errors)
            : item;
      if (normalized !== item) {
        copy ??= { ...value };
        // Defined, not assigned: a body's own "__proto__" key stays a plain field.
        Object.defineProperty(copy, key, {
          value: normalized,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      }
    }
    return copy ?? value;
  }
  return value;
}

/** One string NFC-normalized, or listed (at `parent`, or its element or field `key`) when it holds a forbidden character. */
function normalizedString(
  value: string,
  errors: { field: string; message: string }[],
  parent: string,
  key?: string | number,
): string {
  const bad = FORBIDDEN_TEXT.exec(value);
  if (!bad) return value.normalize("NFC");
  const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  errors.push({
    field: key === undefined ? parent : typeof key === "number" ? `${parent}[${key}]` : `${parent}.${key}`,
    message: `must not contain control, format (e.g. bidirectional) or unpaired surrogate characters: U+${code} at index ${bad.index}`,
  });
  return value;
}

const refuse = (source: InputSource, errors: readonly { field: string; message: string }[]) =>
  new ProblemError(
    "validation",
    `The request ${source} is invalid${errors.length > MAX_LISTED_ERRORS ? ` (the first ${MAX_LISTED_ERRORS} problems are listed)` : ""}.`,
    { errors: errors.slice(0, MAX_LISTED_ERRORS) },
  );

/**
 * A query string or path carries only text: the fields the schema says are integers are read as
 * numbers when they are written as plain decimal digits (anything else stays text, and the schema
 * then names the field as not an integer).
 */
function integersRead(schema: TSchema, value: unknown, source: InputSource): unknown {
  if ((source !== "query" && source !== "path") || value === null || typeof value !== "object") return value;
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!properties) return value;
  const read: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, property] of Object.entries(properties)) {
    const text = read[name];
    if (property.type === "integer" && typeof text === "string" && /^[0-9]{1,15}$/.test(text))
      read[name] = Number(text);
  }
  return read;
}

/** Validates a piece of the request against its schema; a mismatch becomes a 400 validation problem. */
export function validInput<S extends TSchema>(schema: S, value: unknown, source: InputSource) {
  const textErrors: { field: string; message: string }[] = [];
  const normalized = integersRead(schema, normalizedText(value, source, textErrors), source);
  if (textErrors.length > 0) throw refuse(source, textErrors);
  try {
    return validate(canonicalSchema(schema), normalized, source);
  } catch (error) {
    if (error instanceof SchemaValidationError) {
      throw refuse(
        source,
        error.errors.map((e) => ({ ...e, field: e.field === "(root)" ? source : `${source}.${e.field}` })),
      );
    }
    throw error;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The body parser's `verify` hook: request bodies are UTF-8 (RFC 8259 requires it of JSON that
 * travels between systems). Another declared charset is a 415; bytes that are not valid UTF-8 are
 * a 400, rather than being decoded into U+FFFD replacement characters that would then be stored.
 */
/** Each JSON request's body as received (a webhook's signature is over these bytes, not the parsed JSON). */
const rawBodies = new WeakMap<object, Buffer>();

/** The request's body as received, when it was parsed as JSON. */
export const rawBodyOf = (req: object): Buffer | undefined => rawBodies.get(req);

export function verifyUtf8Body(req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding.toLowerCase().replace("-", "") !== "utf8") {
    throw new ProblemError(
      "unsupported-media-type",
      `The body's charset ${encoding} is not accepted; send UTF-8 (charset=utf-8, or none).`,
    );
  }
  utf8BodyText(req, body);
}

/**
 * A UTF-8 body's text (a byte-order mark dropped, as the body parser's decoder drops it); bytes that
 * are not valid UTF-8 are a 400 malformed-json. The body as received is kept for rawBodyOf.
 */
export function utf8BodyText(req: unknown, body: Buffer): string {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new ProblemError("malformed-json", "The body is not valid UTF-8.");
  }
  if (typeof req === "object" && req !== null) rawBodies.set(req, body);
  return text;
}

/**
 * How deeply a request body's arrays and objects may nest. No request schema goes past 3 levels;
 * the bound stops a hostile body (thousands of levels fit in 16 KiB) before anything walks it
 * recursively (the text normalizer, the validator), which would overflow the stack.
 */
export const MAX_BODY_DEPTH = 32;

/** Whether `value` nests arrays or objects deeper than `limit` levels; iterative, so never deep itself. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Right after the body parser: a body nested deeper than MAX_BODY_DEPTH is a 400 that names the rule. */
export const boundedBodyDepth: RequestHandler = (req, _res, next) => {
  if (!nestedDeeperThan(req.body, MAX_BODY_DEPTH)) {
    next();
    return;
  }
  next(
    new ProblemError(
      "validation",
      `The request body is nested deeper than ${MAX_BODY_DEPTH} levels of arrays and objects; no request of this API needs more than 3.`,
      { errors: [{ field: "body", message: `must not be nested deeper than ${MAX_BODY_DEPTH} levels` }] },
    ),
  );
};

/** The Content-Types of nearly every JSON request, compared lower-cased (no parsing needed). */
const PLAIN_JSON: ReadonlySet<string> = new Set([
  "application/json",
  "application/json; charset=utf-8",
  "application/json;charset=utf-8",
]);

/** Whether a Content-Type is plainly JSON in UTF-8 (or no charset); false says nothing of any other. */
export const isPlainJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && PLAIN_JSON.has(contentType.toLowerCase());

/** Bodies must be JSON: anything else gets a 415 before parsing. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
  if (hasBody && !isPlainJson(req.headers["content-type"]) && !req.is("application/json")) {
    next(
      new ProblemError(
        "unsupported-media-type",
        `Content-Type ${req.get("content-type") ?? "(none)"} is not accepted; send application/json.`,
      ),
    );
    return;
  }
  next();
};

export function sendProblem(res: Response, error: ProblemError, instance?: string): void {
  if (error.extra.retryAfterSeconds !== undefined)
    res.setHeader("Retry-After", String(error.extra.retryAfterSeconds));
  for (const [name, value] of Object.entries(error.extra.headers ?? {})) res.setHeader(name, value);
  res
    .status(error.status)
    .type("application/problem+json")
    .send(JSON.stringify(problemDocument(error, instance)));
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  /** The raw body the parser refused. */
  body?: unknown;
}

/**
 * Whether `text` is JSON the strict body parser refused anyway: a bare `0`, `true`, `null` or
 * string is valid JSON but not a JSON object, which every request body of this API is.
 */
function isJson(text: unknown): boolean {
  if (typeof text !== "string") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * How the application answers its own errors (a store that does not answer, a write that lost a
 * race): the problem for an error it knows, undefined for any other. Supplied by the composition
 * root, so that this module knows no store and no domain.
 */
export type ProblemMapping = (error: unknown) => ProblemError | undefined;

/** Maps every error to a problem document. Only a genuine bug becomes a 500. */
export function toProblem(error: unknown, mapping: ProblemMapping = () => undefined): ProblemError {
  if (error instanceof ProblemError) return error;
  const mapped = mapping(error);
  if (mapped) return mapped;
  if (error instanceof SchemaValidationError) {
    // An event or its metadata the service built broke its own schema: a bug, logged, not the
    // caller's fault, and its internal names stay out of the answer.
    if (/\bevent\b/.test(error.subject)) return new ProblemError("internal");
    return new ProblemError("validation", "The request is invalid.", {
      errors: error.errors.slice(0, MAX_LISTED_ERRORS),
    });
  }
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case "entity.parse.failed":
      return isJson(parserError.body)
        ? new ProblemError("validation", "The body must be a JSON object.", {
            errors: [{ field: "body", message: "must be a JSON object" }],
          })
        : new ProblemError("malformed-json", "The body could not be parsed as a JSON object.");
    case "entity.too.large":
      return new ProblemError("payload-too-large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new ProblemError("unsupported-media-type", parserError.message);
  }
  if (typeof parserError?.status === "number" && parserError.status >= 400 && parserError.status < 500) {
    return new ProblemError("validation", parserError.message);
  }
  return new ProblemError("internal");
}

/**
 * 5xx answers that are the service protecting itself or its callers, not faults. (A store that
 * does not answer is a fault someone must look at: it stays an error, with its cause.)
 */
const EXPECTED_REFUSALS: readonly ProblemName[] = ["overloaded", "shutting-down", "service-unavailable"];

/** What the application adds to the error handler: its errors' problems and its own expected refusals. */
export interface ApplicationProblems {
  readonly mapping?: ProblemMapping;
  readonly expectedRefusals?: readonly ProblemName[];
  /** How a failed request's path is written in the log (the access log's rule: a customer id pseudonymized). */
  readonly loggedPath?: LoggedPath;
}

export function errorHandler(logger: Logger, application: ApplicationProblems = {}): ErrorRequestHandler {
  const expected = new Set<ProblemName>([...EXPECTED_REFUSALS, ...(application.expectedRefusals ?? [])]);
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const problem = toProblem(error, application.mapping);
    if (expected.has(problem.problem)) {
      res.locals.expectedRefusal = true;
      // A refusal the service chose (overload, a read-your-writes wait that ran out, shutting
      // down): one line saying what, no stack trace, which would only be noise.
      logger.warn(
        {
          problem: problem.problem,
          detail: problem.detail,
          correlationId: correlationId(req),
          method: req.method,
        },
        "request refused",
      );
    } else if (problem.status >= 500) {
      logger.error(
        // The path, not the URL: a query string may carry a sign-in token or customer ids.
        {
          err: error,
          correlationId: correlationId(req),
          method: req.method,
          path: application.loggedPath ? application.loggedPath(req.path) : req.path,
        },
        "request failed",
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    // The path alone: a query string may carry a token (`?token=`, `?access_token=`) or customer
    // ids, and an answer never echoes a credential.
    sendProblem(res, problem, req.originalUrl.split("?")[0]);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ProblemError("not-found", `Nothing at ${req.method} ${req.path}.`));
};

/** Serves the documentation of each problem type at its `type` URI. */
export const problemDocs: RequestHandler = (req, res, next) => {
  const name = req.params.name as ProblemName;
  const entry = problemTypes().get(name);
  if (!entry) {
    next();
    return;
  }
  res.json({ type: problemType(name), ...entry });
};
