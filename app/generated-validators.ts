/**
 * The validators `npm run build` generates (platform/standalone-validators.ts) and how a process
 * takes them: a start of the production build loads compiled functions instead of compiling its
 * schemas (issue 50); a process run from the sources (tsx: `npm run dev`, the tests) finds no
 * generated module beside this one and compiles on first use, as before. Which schemas the build
 * generates validators for: app/validator-schemas.ts.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import type { GeneratedValidators } from "../platform/standalone-validators.js";
import { ajv, useGeneratedValidators } from "../platform/validation.js";

/** The generated module's name, beside this module's (dist/app/ in the build). */
export const GENERATED_VALIDATORS_FILE = "schema-validators.generated.js";

/**
 * Takes the generated validators when the build wrote them beside this module (or at `url`);
 * answers how many (0: every schema is compiled on first use). Call before the first validation.
 */
export async function useBuiltValidators(
  url: URL = new URL(`./${GENERATED_VALIDATORS_FILE}`, import.meta.url),
): Promise<number> {
  if (!existsSync(url)) return 0;
  const generated = (await import(url.href)) as GeneratedValidators;
  // Each format it calls by name must be this process's (defined when schemas/ loaded).
  if (!generated.FORMATS.every((name) => ajv.formats[name] !== undefined)) return 0;
  const validators = generated.validators(ajv.formats, createRequire(import.meta.url));
  useGeneratedValidators(validators);
  return validators.size;
}
