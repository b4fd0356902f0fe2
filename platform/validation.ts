/**
 * Validation against JSON Schemas (TypeBox) with one strict ajv, and the field-by-field errors a
 * problem answer lists. Knows no schema of its own: the domain's live in `schemas/`.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import nextVocabularyModule from "ajv/dist/vocabularies/next.js";
import addFormatsModule from "ajv-formats";

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
type AddFormats = (ajv: Ajv, formats: string[]) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;
type Vocabulary = Parameters<Ajv["addVocabulary"]>[0];
const nextVocabulary = ((nextVocabularyModule as unknown as { default?: Vocabulary }).default ??
  nextVocabularyModule) as Vocabulary;

/** One ajv instance for the whole process: strict, Unicode-aware, every schema compiled once. */
export const ajv = new Ajv({
  strict: true,
  allErrors: true,
  unicodeRegExp: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
});
addFormats(ajv, ["date-time", "uuid", "uri"]);
// dependentRequired (JSON Schema 2019-09 and 2020-12, the dialect of OpenAPI 3.1): "both or
// neither" rules say so in the schema, where the document shows them.
ajv.addVocabulary(nextVocabulary);

/**
 * A format whose rule a portable pattern cannot state (one named in the schema's `format` and its
 * description): checked here by `test`, a JavaScript regular expression. Call before compiling a
 * schema that names it.
 */
export function addFormat(name: string, test: RegExp): void {
  if (!ajv.formats[name]) ajv.addFormat(name, test);
}

export interface FieldError {
  /** JSON-pointer-ish path of the offending field, e.g. `capacity` or `body` for the whole body. */
  readonly field: string;
  readonly message: string;
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

function compiled(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** Compiles schemas now (at module load), so that the first validation against them pays no compile. */
export function precompile(...schemas: TSchema[]): void {
  for (const schema of schemas) compiled(schema);
}

function describe(error: ErrorObject): FieldError {
  const base = error.instancePath.replace(/^\//, "").replace(/\//g, ".");
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
    case "pattern":
      return {
        field: base || "(root)",
        message: `has characters that are not allowed (${error.parentSchema?.description ?? "see the schema"})`,
      };
    default:
      return { field: base || "(root)", message: error.message ?? "is invalid" };
  }
}

/** Validates `value` against `schema`; returns it typed, or throws SchemaValidationError. */
export function validate<S extends TSchema>(schema: S, value: unknown, subject = "input"): Static<S> {
  const fn = compiled(schema);
  if (fn(value)) return value as Static<S>;
  const seen = new Set<string>();
  const errors = (fn.errors ?? []).map(describe).filter((e) => {
    const key = `${e.field}|${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  throw new SchemaValidationError(errors, subject);
}
