import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { ensureSigningKey } from "../platform/auth/dev-issuer.js";
import type { Config } from "../platform/config.js";
import { idempotencySecretOf, webhookKeyOf } from "./auth.js";
import { commitKeysBeforePostgresLog, openPostgresDataKeys, useDataKeysOf } from "./personal-data.js";

/**
 * The stores on PostgreSQL (DATABASE_URL), loaded only when configured: the `pg` driver stays out
 * of a start on the embedded stores.
 */
export async function openPostgresEventStore(config: Config & { databaseUrl: string }): Promise<EventStore> {
  const url = config.databaseUrl;
  await mirrorSecrets(config);
  await openPostgresDataKeys(url);
  const { PostgresEventStore } = await import("../event-store/postgres/pg-event-store.js");
  return PostgresEventStore.open({ url, beforeCommit: commitKeysBeforePostgresLog });
}

/** The read models on PostgreSQL (jsonb), in the same database as the log. */
export async function openPostgresDocumentStore(url: string): Promise<DocumentStore> {
  const { PostgresDocumentStore } = await import("../document-store/postgres/pg-document-store.js");
  return PostgresDocumentStore.open({ url });
}

/**
 * The keys and secrets the service keeps as files under DATA_DIR (the development issuer's key
 * pair, the idempotency and webhook secrets, unless set by the environment) are in the database
 * too: a replica started on an empty DATA_DIR gets the same ones, and accepts the same tokens.
 */
async function mirrorSecrets(config: Config & { databaseUrl: string }): Promise<void> {
  const once = `${config.databaseUrl}\n${config.dataDir}`;
  if (mirrored.has(once)) return;
  const { mirrorFiles } = await import("../platform/postgres/mirrored-files.js");
  await mirrorFiles(config.databaseUrl, config.dataDir, ["auth", "webhooks"], async () => {
    if (config.authIssuer === undefined) await ensureSigningKey(config.dataDir);
    idempotencySecretOf(config);
    webhookKeyOf(config);
  });
  mirrored.add(once);
}

/** The databases and DATA_DIRs this process mirrored the secrets of (once each, at its start). */
const mirrored = new Set<string>();

/**
 * The data keys a service starts with: with DATABASE_URL, the database's, and the secrets mirrored
 * into DATA_DIR first (before authentication reads the issuer's key pair there).
 */
export async function dataKeysAtStart(config: Config): Promise<ReturnType<typeof useDataKeysOf>> {
  const { databaseUrl } = config;
  if (databaseUrl !== undefined) {
    await mirrorSecrets({ ...config, databaseUrl });
    await openPostgresDataKeys(databaseUrl);
  }
  return useDataKeysOf(config);
}
