import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import { commitKeysBeforePostgresLog, openPostgresDataKeys } from "./personal-data.js";

/**
 * The stores on PostgreSQL (DATABASE_URL), loaded only when configured: the `pg` driver stays out
 * of a start on the embedded stores.
 */
export async function openPostgresEventStore(url: string): Promise<EventStore> {
  await openPostgresDataKeys(url);
  const { PostgresEventStore } = await import("../event-store/postgres/pg-event-store.js");
  return PostgresEventStore.open({ url, beforeCommit: commitKeysBeforePostgresLog });
}

/** The read models on PostgreSQL (jsonb), in the same database as the log. */
export async function openPostgresDocumentStore(url: string): Promise<DocumentStore> {
  const { PostgresDocumentStore } = await import("../document-store/postgres/pg-document-store.js");
  return PostgresDocumentStore.open({ url });
}
