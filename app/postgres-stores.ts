import { isMainThread } from "node:worker_threads";
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
  await mirrorFiles(config.databaseUrl, config.dataDir, MIRRORED, async () => {
    if (config.authIssuer === undefined) await ensureSigningKey(config.dataDir);
    idempotencySecretOf(config);
    webhookKeyOf(config);
  });
  mirrored.add(once);
}

/** The folders mirrored, and the one that changes while replicas run: the signing keys a rotation adds. */
const MIRRORED = ["auth", "webhooks"];
const SIGNING_KEYS = "auth/signing-keys";

/**
 * With DATABASE_URL and the development issuer, while the service runs: a signing key rotated on
 * this DATA_DIR goes to the database, and one rotated on another replica's comes into this
 * DATA_DIR, where the verifier finds a token's new key id (platform/auth/dev-issuer.ts). In the
 * request thread only (the processors thread verifies no token). Returns its stop.
 */
export async function followSigningKeys(config: Config): Promise<() => Promise<void>> {
  const url = config.databaseUrl;
  if (url === undefined || config.authIssuer !== undefined || !isMainThread) return async () => undefined;
  const { MirroredFilesFollower } = await import("../platform/postgres/mirrored-files.js");
  const follower = await MirroredFilesFollower.start(url, config.dataDir, MIRRORED, [SIGNING_KEYS]);
  return () => follower.close();
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
