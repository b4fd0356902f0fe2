import type { TSchema } from "@sinclair/typebox";
import { precompileRequests } from "../platform/http/operation-routes.js";
import { compiledSchemas, precompile } from "../platform/validation.js";
import { EventDataSchemas, EventMetadata } from "../schemas/events.js";
import { warmUpCommandPath } from "../write-side/warm-up.js";
import { OPERATIONS } from "./surface/operations.js";

/**
 * The schemas worth a validator generated at build time (app/generated-validators.ts), asked of a
 * process that has compiled nothing yet: what the command side's warm-up compiles (read from
 * running it, so a schema it starts to compile joins by itself), every event's data and metadata
 * (the processors decode them), every operation's request (path, headers, query and body).
 */
export function schemasToGenerate(): readonly TSchema[] {
  warmUpCommandPath();
  precompile(EventMetadata, ...Object.values(EventDataSchemas));
  precompileRequests(OPERATIONS);
  return compiledSchemas();
}
