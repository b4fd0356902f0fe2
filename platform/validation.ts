/**
 * Validation against JSON Schemas (TypeBox) with one strict ajv, and the field-by-field errors a
 * problem answer lists. Knows no schema of its own: the domain's live in `schemas/`.
 */
import { createHash } from "node:crypto";
import type { Static, TSchema } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import nextVocabularyModule from "ajv/dist/vocabularies/next.js";
import addFormatsModule from "ajv-formats";

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;
type Vocabulary = Parameters<Ajv["addVocabulary"]>[0];
const nextVocabulary = ((nextVocabularyModule as unknown as { default?: Vocabulary }).default ??
  nextVocabularyModule) as Vocabulary;

/**
 * An ajv configured as the service validates: strict, Unicode-aware, every error with the value
 * and the schema that refused it (so that messages can name what to do). `options` adds to these
 * (the build's generator of standalone validators asks for their source, platform/standalone-validators.ts).
 */
export function configuredAjv(options: Options = {}): Ajv {
  const instance = new Ajv({
    strict: true,
    allErrors: true,
    unicodeRegExp: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    verbose: true,
    ...options,
  });
  // dependentRequired (JSON Schema 2019-09 and 2020-12, the dialect of OpenAPI 3.1): "both or
  // neither" rules say so in the schema, where the document shows them.
  instance.addVocabulary(nextVocabulary);
  // An annotation: the property is personal data (sealed by the event codec, issue 36); checks nothing.
  instance.addKeyword({ keyword: "x-personal", schemaType: "boolean" });
  return instance;
}

/** One ajv instance for the whole process, every schema compiled once. */
export const ajv = configuredAjv();
addFormats(ajv, ["date-time", "date", "uuid", "uri"]);

/**
 * A format whose rule a portable pattern cannot state (one named in the schema's `format` and its
 * description): checked here by `test`, a JavaScript regular expression or a function of the
 * string. Call before compiling a schema that names it; the first definition of a name stays.
 */
export function addFormat(name: string, test: RegExp | ((value: string) => boolean)): void {
  if (!ajv.formats[name]) ajv.addFormat(name, test);
}

export interface FieldError {
  /** JSON-pointer-ish path of the offending field, e.g. `capacity` or `body` for the whole body. */
  readonly field: string;
  readonly message: string;
  /**
   * What the field broke, by its JSON Schema keyword (`required`, `minimum`, `maxLength`, `pattern`,
   * `format`…), for a page to word it in its own language; `limit` the bound a size or range named.
   */
  readonly code?: string;
  readonly limit?: number;
}

/** Input that does not match its schema. Carries every field that was wrong. */
export class SchemaValidationError extends Error {
  constructor(
    readonly errors: readonly FieldError[],
    readonly subject: string,
  ) {
    super(`${subject} is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join("; ")}`);
    this.name = "SchemaValidationError";
  }
}

const cache = new WeakMap<TSchema, ValidateFunction>();
/**
 * Every schema compiled in this process, in order (what a build generates validators for); no
 * more than ajv's own cache holds anyway.
 */
const compiledInOrder: TSchema[] = [];
/** Validators generated ahead of time (standalone code), by their schema's shape key. */
let generated: ReadonlyMap<string, ValidateFunction> | undefined;

/**
 * What identifies a schema's validator: a hash of its JSON form (TypeBox's symbols left out, which
 * ajv does not read). A schema changed since its validator was generated has another key, so it is
 * compiled as before, never checked by a stale function.
 */
export const shapeKey = (schema: TSchema): string =>
  createHash("sha256").update(JSON.stringify(schema)).digest("base64url");

/**
 * Validators generated at build time (ajv's standalone code, keyed by shapeKey): a schema with one
 * is not compiled at run time. Those without one are compiled on first use, as always.
 */
export function useGeneratedValidators(validators: ReadonlyMap<string, ValidateFunction>): void {
  generated = validators;
}

function compiled(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = generated?.get(shapeKey(schema)) ?? ajv.compile(schema);
    cache.set(schema, fn);
    compiledInOrder.push(schema);
  }
  return fn;
}

/** The schemas this process has compiled (or taken generated), first use first. */
export const compiledSchemas = (): readonly TSchema[] => compiledInOrder;

/** Compiles schemas now (at module load), so that the first validation against them pays no compile. */
export function precompile(...schemas: TSchema[]): void {
  for (const schema of schemas) compiled(schema);
}

/** A date and time without an offset (`2026-11-23T10:00:00`): the usual slip. */
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
/**
 * A date and time whose offset's `+` became a space (`2026-11-23T10:00:00 09:00`): a query string
 * decodes an unescaped `+` as a space (application/x-www-form-urlencoded), so it must be `%2B`.
 */
const PLUS_AS_SPACE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:\d{2}$/;

/** What a date-time field without a valid offset should say. */
function dateTimeMessage(data: unknown): string {
  if (typeof data === "string" && PLUS_AS_SPACE.test(data))
    return `has a space where its offset's + should be: in a query string write + as %2B (${data.replace(" ", "%2B")})`;
  return typeof data === "string" && LOCAL_DATE_TIME.test(data)
    ? "has no offset: add an offset such as +09:00 (or Z for UTC)"
    : "must be an RFC 3339 date and time with an offset, e.g. 2026-11-23T10:00:00+09:00";
}

/** A number out of its range, with what the schema says the number is (its unit: "Minutes per step…"). */
function boundMessage(error: ErrorObject): string {
  const { limit } = error.params as { limit: number };
  const bound = error.keyword === "minimum" ? `at least ${limit}` : `at most ${limit}`;
  const about = error.parentSchema?.description;
  return `must be ${bound}${typeof about === "string" ? `. ${about}` : ""}`;
}

function describe(error: ErrorObject): FieldError {
  const base = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
  const field = base || "(root)";
  switch (error.keyword) {
    case "additionalProperties": {
      const extra = String((error.params as { additionalProperty: string }).additionalProperty);
      return { field: base ? `${base}.${extra}` : extra, message: "is not an allowed field; remove it" };
    }
    case "required": {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      return { field: base ? `${base}.${missing}` : missing, message: "is required" };
    }
    case "dependentRequired": {
      const { property, missingProperty } = error.params as { property: string; missingProperty: string };
      return {
        field: base ? `${base}.${missingProperty}` : missingProperty,
        message: `is required with ${property} (both or neither)`,
      };
    }
    case "minLength": {
      const { limit } = error.params as { limit: number };
      return limit === 1 && error.data === ""
        ? { field, message: "must not be empty" }
        : { field, message: `is too short: it needs at least ${limit} characters` };
    }
    case "minimum":
    case "maximum":
      return { field, message: boundMessage(error) };
    case "format":
      if ((error.params as { format: string }).format === "date-time")
        return { field, message: dateTimeMessage(error.data) };
      return { field, message: error.message ?? "is invalid" };
    case "anyOf": {
      // A choice of constants (an enum written as a union of literals): name them.
      const choices = (error.parentSchema?.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const);
      if (choices?.length && choices.every((c) => typeof c === "string"))
        return { field, message: `must be one of ${choices.join(", ")}` };
      return { field, message: error.message ?? "is invalid" };
    }
    case "pattern":
      return {
        field,
        message: `has characters that are not allowed (${error.parentSchema?.description ?? "see the schema"})`,
      };
    default:
      return { field, message: error.message ?? "is invalid" };
  }
}

/**
 * Which of a field's errors says best what to do, first: a value of a wrong kind or an empty one
 * fails several keywords at once (an empty reason its length and its pattern; an unknown status
 * each constant and their union; an instant without offset its format and its pattern). One error
 * per field is listed.
 */
const PRECEDENCE = [
  "required",
  "additionalProperties",
  "type",
  "anyOf",
  "enum",
  "minLength",
  "maxLength",
  "format",
];
const rank = (error: ErrorObject) => {
  const i = PRECEDENCE.indexOf(error.keyword);
  return i === -1 ? PRECEDENCE.length : i;
};

/** Validates `value` against `schema`; returns it typed, or throws SchemaValidationError. */
export function validate<S extends TSchema>(schema: S, value: unknown, subject = "input"): Static<S> {
  const fn = compiled(schema);
  if (fn(value)) return value as Static<S>;
  // The best error of each field, the fields in the order ajv found them.
  const best = new Map<string, { rank: number; error: FieldError }>();
  for (const raw of fn.errors ?? []) {
    const { limit } = raw.params as { limit?: unknown };
    const error = { ...describe(raw), code: raw.keyword, ...(typeof limit === "number" ? { limit } : {}) };
    const known = best.get(error.field);
    if (!known || rank(raw) < known.rank) best.set(error.field, { rank: rank(raw), error });
  }
  const errors = [...best.values()].map((b) => b.error);
  throw new SchemaValidationError(errors, subject);
}
