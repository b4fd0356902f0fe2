import { Type } from "@sinclair/typebox";
import { env } from "./setting.js";

/** Outbound webhooks (issue 35): where they may go, how they are retried, how secrets are kept. */
export const WEBHOOK_SETTINGS = {
  webhookAllowPrivate: Type.Boolean(
    env(
      "WEBHOOK_ALLOW_PRIVATE",
      "false",
      "Let webhook endpoints be `http://` URLs and reach loopback, private, link-local or any other special-purpose address (development and tests). Off: only `https://` URLs whose IP literal, or every address their name resolves to, is public unicast by IANA's special-purpose registries in any spelling (IPv4-mapped, NAT64 and 6to4 judged by their IPv4), checked again when each connection is made (no DNS rebinding).",
    ),
  ),
  webhookSecretKey: Type.Optional(
    Type.String({
      format: "secret",
      ...env(
        "WEBHOOK_SECRET_KEY",
        undefined,
        "Key (32+ characters) that encrypts the endpoints' signing secrets in the document store (AES-256-GCM), so a dump of the read models reveals none; every replica needs the same one. Unset: a random key created once under DATA_DIR/webhooks (mode 0600).",
      ),
    }),
  ),
  webhookTimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 60000,
    ...env(
      "WEBHOOK_TIMEOUT_MS",
      "10000",
      "How long (ms) one delivery attempt may take, connection included.",
    ),
  }),
  webhookConcurrency: Type.Integer({
    minimum: 1,
    maximum: 64,
    ...env(
      "WEBHOOK_CONCURRENCY",
      "4",
      "Deliveries in flight at once per endpoint (its own queue: a slow endpoint holds only its own slots).",
    ),
  }),
  webhookRetryScale: Type.Number({
    minimum: 0,
    maximum: 1,
    ...env(
      "WEBHOOK_RETRY_SCALE",
      "1",
      "Multiplies every delay of the retry schedule (about three days in all at 1); tests shrink it to run in seconds.",
    ),
  }),
};
