import { type AccessLookup, type AccessRule, accessLookup } from "../platform/auth/access.js";
import { DISCOVERY_PATH, JWKS_PATH } from "../platform/auth/dev-issuer.js";
import { REVOKE_SESSIONS_PATH, SESSION_PATH, SIGN_IN_PATH, SIGN_OUT_PATH } from "../platform/auth/session.js";
import { QUERY_ACCESS } from "../read-api/access.js";
import { ANY_ROLE, OPERATOR } from "../schemas/actor.js";
import { COMMAND_ACCESS } from "../write-side/http/access.js";

/** Routes of the process itself: health, docs, metrics, the development issuer and sign-in. */
export const APP_ACCESS: readonly AccessRule[] = [
  { method: "GET", path: "/healthz", allow: "anonymous" },
  { method: "GET", path: "/readyz", allow: "anonymous" },
  { method: "GET", path: "/openapi.json", allow: "anonymous" },
  { method: "GET", path: "/docs", allow: "anonymous" },
  { method: "GET", path: "/docs/*rest", allow: "anonymous" },
  { method: "GET", path: "/problems/:name", allow: "anonymous" },
  { method: "GET", path: JWKS_PATH, allow: "anonymous" },
  { method: "GET", path: DISCOVERY_PATH, allow: "anonymous" },
  { method: "GET", path: SIGN_IN_PATH, allow: "anonymous" },
  { method: "POST", path: SIGN_OUT_PATH, allow: "anonymous" },
  { method: "POST", path: SESSION_PATH, allow: ANY_ROLE },
  { method: "POST", path: REVOKE_SESSIONS_PATH, allow: OPERATOR },
  { method: "GET", path: "/metrics", allow: OPERATOR },
];

/** Every access rule of the service, first match wins; a route in none of them is operator-only. */
export const ACCESS_RULES: readonly AccessRule[] = [...APP_ACCESS, ...COMMAND_ACCESS, ...QUERY_ACCESS];
export const UNLISTED_ROUTES_ALLOW = OPERATOR;

/** Who may call what under these tables: what the service enforces and its OpenAPI document says. */
export const serviceAccess: AccessLookup = accessLookup(ACCESS_RULES, UNLISTED_ROUTES_ALLOW);
