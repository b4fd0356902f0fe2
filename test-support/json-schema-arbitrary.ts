import fc from "fast-check";
import { SERVICE_FORMATS } from "../schemas/common.js";

/**
 * fast-check arbitraries from the JSON Schemas of a dereferenced OpenAPI 3.1 document: the subset
 * the request side of this API uses (objects with required and optional properties, strings with
 * lengths, patterns, formats and enums, integers with bounds, arrays, const). Values are meant to
 * match their schema; the request property test checks each with ajv before sending it, so a
 * keyword this does not honour (dependentRequired, say) costs only a discarded sample.
 */
export type Schema = Record<string, unknown>;

export interface ArbitraryOptions {
  /** Values to mix in for a property or parameter by name (known lot ids, say), besides generated ones. */
  readonly known?: Readonly<Record<string, readonly unknown[]>>;
  /** Longest generated string (bounded by the schema's own minLength); keeps requests small. */
  readonly maxStringLength?: number;
  /** Header values travel as Latin-1 text: generate printable ASCII only. */
  readonly ascii?: boolean;
  /** The current time, around which date-times are generated. */
  readonly now?: number;
}

const MINUTE = 60_000;

/** A date-time near `now` (most windows fall inside the service's rules), written with Z or an offset. */
function dateTime(now: number): fc.Arbitrary<string> {
  const offsets = ["Z", "+09:00", "-05:00", "+00:00"];
  return fc
    .tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: -30, max: 3 * 24 * 60 }) },
        { weight: 1, arbitrary: fc.integer({ min: -400 * 24 * 60, max: 400 * 24 * 60 }) },
      ),
      fc.constantFrom(...offsets),
    )
    .map(([minutes, offset]) => {
      const at = new Date(Math.floor((now + minutes * MINUTE) / MINUTE) * MINUTE);
      if (offset === "Z") return at.toISOString().replace(".000Z", "Z");
      const sign = offset.startsWith("-") ? -1 : 1;
      const shift = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
      return `${new Date(at.getTime() + shift * MINUTE).toISOString().slice(0, 19)}${offset}`;
    });
}

const codePoints = (text: string) => [...text].length;

function stringOf(schema: Schema, options: ArbitraryOptions): fc.Arbitrary<string> {
  const minLength = Number(schema.minLength ?? 0);
  const maxLength = Math.max(
    minLength,
    Math.min(Number(schema.maxLength ?? 64), options.maxStringLength ?? 80),
  );
  const fits = (text: string) => codePoints(text) >= minLength && codePoints(text) <= maxLength;
  if (schema.format === "date-time") return dateTime(options.now ?? Date.now());
  if (schema.format === "date") return dateTime(options.now ?? Date.now()).map((at) => at.slice(0, 10));
  const formatted = typeof schema.format === "string" ? SERVICE_FORMATS[schema.format] : undefined;
  const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : formatted;
  const ascii = options.ascii ? (text: string) => /^[\x20-\x7e]*$/.test(text) : () => true;
  const free = fc.oneof(
    fc.string({ unit: "grapheme", minLength, maxLength }),
    fc.string({ unit: "grapheme-ascii", minLength, maxLength }),
  );
  let base: fc.Arbitrary<string> = free;
  if (pattern) {
    try {
      base = fc.oneof(fc.stringMatching(pattern), free);
    } catch {
      // fast-check cannot build a generator for this pattern (negated Unicode classes): filter.
      base = free;
    }
  }
  return base.filter((text) => fits(text) && ascii(text) && (!pattern || pattern.test(text)));
}

/** An arbitrary of values of `schema`; `name` is the property or parameter it is for. */
export function arbitraryOf(
  schema: Schema,
  options: ArbitraryOptions = {},
  name?: string,
): fc.Arbitrary<unknown> {
  const generated = generatedOf(schema, options);
  const known = name === undefined ? undefined : options.known?.[name];
  return known?.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: generated })
    : generated;
}

function generatedOf(schema: Schema, options: ArbitraryOptions): fc.Arbitrary<unknown> {
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  // A value of one alternative (for oneOf, the check against the whole schema discards the rest).
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => generatedOf(alternative, options)));
  switch (schema.type) {
    case "integer": {
      const exclusiveMin =
        typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum + 1 : undefined;
      const min = Number(schema.minimum ?? exclusiveMin ?? -1_000_000);
      const max = Number(schema.maximum ?? 1_000_000_000);
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 100) }), fc.integer({ min, max }));
    }
    case "number":
      return fc.double({
        min: Number(schema.minimum ?? -1e6),
        max: Number(schema.maximum ?? 1e6),
        noNaN: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "string":
      return stringOf(schema, options);
    case "array":
      // A tuple (TypeBox's Tuple: `items` one schema per place).
      if (Array.isArray(schema.items))
        return fc.tuple(...(schema.items as Schema[]).map((item) => arbitraryOf(item, options)));
      return fc.array(arbitraryOf((schema.items ?? {}) as Schema, options), {
        minLength: Number(schema.minItems ?? 0),
        maxLength: Math.min(Number(schema.maxItems ?? 3), 3),
      });
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const record = Object.fromEntries(
        Object.entries(properties).map(([key, property]) => [key, arbitraryOf(property, options, key)]),
      );
      return fc.record(record, { requiredKeys: required.filter((key) => key in properties) });
    }
    default:
      throw new Error(`no arbitrary for the schema ${JSON.stringify(schema).slice(0, 200)}`);
  }
}
