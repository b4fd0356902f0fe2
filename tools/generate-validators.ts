/**
 * Writes the standalone validators of the service's schemas (app/validator-schemas.ts) into the
 * directory named on the command line, where app/generated-validators.ts looks for them. Run by
 * tools/build.ts in a process of its own, so that nothing compiled before (the build's own
 * modules) joins the set.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_VALIDATORS_FILE } from "../app/generated-validators.js";
import { schemasToGenerate } from "../app/validator-schemas.js";
import { standaloneValidatorsModule } from "../platform/standalone-validators.js";

const [dir] = process.argv.slice(2);
if (!dir) throw new Error("usage: tsx tools/generate-validators.ts <directory of the bundle>");
writeFileSync(join(dir, GENERATED_VALIDATORS_FILE), standaloneValidatorsModule(schemasToGenerate()));
