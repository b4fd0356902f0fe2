import { type AccessLookup, type AccessRule, accessLookup } from "../platform/auth/access.js";
import { OPERATOR } from "../schemas/actor.js";
import { OPERATIONS, operationAccessRules } from "./surface/operations.js";

/**
 * Who may call what: each operation's `allow` (and `allowWhen`) in the table of operations, and the
 * few routes that are not operations of the API: the page's assets and the Swagger UI.
 */
const UNDOCUMENTED_ROUTES: readonly AccessRule[] = [
  // The control-center page's assets hold no data (the page signs in itself).
  { method: "GET", path: "/assets/*rest", allow: "anonymous" },
  { method: "GET", path: "/docs", allow: "anonymous" },
  { method: "GET", path: "/docs/*rest", allow: "anonymous" },
];

/** Every access rule of the service, first match wins; a route in none of them is operator-only. */
export const ACCESS_RULES: readonly AccessRule[] = [
  ...operationAccessRules(OPERATIONS),
  ...UNDOCUMENTED_ROUTES,
];
export const UNLISTED_ROUTES_ALLOW = OPERATOR;

/** Who may call what under these rules: what the service enforces and its OpenAPI document says. */
export const serviceAccess: AccessLookup = accessLookup(ACCESS_RULES, UNLISTED_ROUTES_ALLOW);
