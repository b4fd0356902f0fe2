import { mintDevToken } from "../../platform/auth/dev-issuer.js";

/**
 * The bench calls the service as an operator (it books on customers' behalf, as a desk would):
 * `startService` mints a token with the embedded issuer's key of the bench DATA_DIR and registers
 * it for the service's URL; HttpClient and runLoad send it with every request to that URL, so the
 * measured path includes token verification like any real caller's.
 */
const headersByOrigin = new Map<string, Readonly<Record<string, string>>>();

/** A token of operator `sub` for every lot (scoped operators: a grant names the lots), signed by the embedded issuer. */
export const operatorToken = (dataDir: string, sub: string): Promise<string> =>
  mintDevToken(dataDir, {
    sub,
    roles: ["operator"],
    claims: { lots: ["*"] },
    audience: process.env.AUTH_AUDIENCE ?? "parking-reservations",
    ttlSeconds: 24 * 3600,
  });

export async function authorizeBenchService(url: string, dataDir: string): Promise<void> {
  const token = await operatorToken(dataDir, "bench-operator");
  headersByOrigin.set(new URL(url).origin, { authorization: `Bearer ${token}` });
}

/** The auth headers for requests to `url` ({} for servers that need none, like the ceiling). */
export const authHeadersFor = (url: string): Readonly<Record<string, string>> =>
  headersByOrigin.get(new URL(url).origin) ?? {};
