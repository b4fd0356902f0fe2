/**
 * What a `pg` error says of the server, for the stores' adapters to raise their own errors at
 * their edge: the server cannot serve now (down, restarting, a standby that is read-only, out of
 * connections, a connection lost mid-call: retry later), its disk is full, or something else.
 */
export type PostgresFailure = "unavailable" | "disk-full" | "other";

/** SQLSTATE classes and codes that mean "not now": connection exceptions, shutdowns, read-only standby, limits, conflicts. */
const UNAVAILABLE_CODES = /^(08...|57P0[1-4]|53300|53400|25006|40001|40P01|55P03|57014)$/;

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

const NETWORK_MESSAGES =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable|Cannot use a pool after calling end/i;

export function postgresFailureOf(error: unknown): PostgresFailure {
  if (!(error instanceof Error)) return "other";
  const code = (error as { code?: unknown }).code;
  if (code === "53100") return "disk-full";
  if (typeof code === "string" && (UNAVAILABLE_CODES.test(code) || NETWORK_CODES.has(code)))
    return "unavailable";
  if (NETWORK_MESSAGES.test(error.message)) return "unavailable";
  return "other";
}

/** The constraint a unique violation (23505) broke, or undefined for any other error. */
export function uniqueViolationOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== "23505") return undefined;
  return String((error as { constraint?: unknown }).constraint ?? "");
}
