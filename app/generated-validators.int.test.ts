import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { TSchema } from "@sinclair/typebox";
import type { ErrorObject, ValidateFunction } from "ajv";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import type { GeneratedValidators } from "../platform/standalone-validators.js";
import { ajv, precompile, SchemaValidationError, shapeKey, validate } from "../platform/validation.js";
import { ParkingLotId } from "../schemas/common.js";
import { EventDataSchemas } from "../schemas/events.js";
import { arbitraryOf, type Schema } from "../test-support/json-schema-arbitrary.js";
import { PROJECT_ROOT } from "../test-support/process.js";
import { GENERATED_VALIDATORS_FILE, useBuiltValidators } from "./generated-validators.js";
import { schemasToGenerate } from "./validator-schemas.js";

/** The module `npm run build` wrote (this tier's setup builds dist/ when it is stale). */
const BUILT = pathToFileURL(join(PROJECT_ROOT, "dist", "app", GENERATED_VALIDATORS_FILE));

/** What a verdict says: valid or not, and each error as ajv reports it (the schema as JSON). */
function verdict(fn: ValidateFunction, value: unknown): unknown {
  const valid = fn(value);
  const errors = (fn.errors ?? []).map((error: ErrorObject) => ({
    ...error,
    schema: JSON.stringify(error.schema),
    parentSchema: JSON.stringify(error.parentSchema),
  }));
  return { valid, errors: valid ? [] : errors };
}

/** A value of the schema, or one with a property dropped or replaced, or anything at all. */
function inputsOf(schema: TSchema): fc.Arbitrary<unknown> {
  const zones = ["Asia/Seoul", "UTC", "Mars/Olympus", ""];
  let valid: fc.Arbitrary<unknown>;
  try {
    // Strings as long as the arbitraries allow: a pattern (a traceparent's 55 characters) may need it.
    valid = arbitraryOf(schema as unknown as Schema, { known: { timeZone: zones, previousTimeZone: zones } });
  } catch {
    // A shape the arbitraries do not cover: anything at all, then.
    return fc.anything();
  }
  const broken = fc.tuple(valid, fc.nat(), fc.anything(), fc.boolean()).map(([value, at, other, drop]) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return other;
    const keys = Object.keys(value);
    const copy: Record<string, unknown> = { ...value };
    const key = keys.length ? (keys[at % keys.length] as string) : "extra";
    if (drop) delete copy[key];
    else copy[key] = other;
    return copy;
  });
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 3, arbitrary: broken }, fc.anything());
}

describe("validators generated at build time (ajv standalone code)", () => {
  it("give the verdicts and errors of the schemas compiled at run time, for every schema generated", async () => {
    const generated = (await import(BUILT.href)) as GeneratedValidators;
    const built = generated.validators(ajv.formats, createRequire(import.meta.url));
    const schemas = schemasToGenerate();
    expect(schemas.length).toBeGreaterThan(50);
    for (const schema of schemas) {
      const standalone = built.get(shapeKey(schema));
      if (!standalone) throw new Error(`no generated validator for ${JSON.stringify(schema).slice(0, 200)}`);
      const compiled = ajv.compile(schema);
      fc.assert(
        fc.property(inputsOf(schema), (value) => {
          expect(verdict(standalone, value)).toEqual(verdict(compiled, value));
        }),
        { numRuns: 60 },
      );
    }
  });

  it("serve the process in place of compiling; a schema without one is compiled as before", async () => {
    const compile = vi.spyOn(ajv, "compile");
    expect(await useBuiltValidators(BUILT)).toBeGreaterThan(50);
    precompile(...Object.values(EventDataSchemas));
    expect(() => validate(EventDataSchemas.ParkingLotRegistered, { name: "" }, "event")).toThrow(
      SchemaValidationError,
    );
    expect(compile).not.toHaveBeenCalled();
    // A shape no build saw (a schema changed since, say): compiled here, same rules.
    const changed = { ...ParkingLotId, maxLength: 3 };
    expect(() => validate(changed, "lot-1", "parkingLotId")).toThrow(SchemaValidationError);
    expect(compile).toHaveBeenCalledTimes(1);
    compile.mockRestore();
  });

  it("is not taken where the build wrote none (a process run from the sources)", async () => {
    expect(
      await useBuiltValidators(pathToFileURL(join(PROJECT_ROOT, "app", GENERATED_VALIDATORS_FILE))),
    ).toBe(0);
  });
});
