import type { EventStore } from "../event-store/port.js";
import { commitKeysBeforeLog } from "./personal-data.js";

/**
 * The stores on PostgreSQL (DATABASE_URL), loaded only when configured: the `pg` driver stays out
 * of a start on the embedded stores.
 */
export async function openPostgresEventStore(url: string): Promise<EventStore> {
  const { PostgresEventStore } = await import("../event-store/postgres/pg-event-store.js");
  return PostgresEventStore.open({ url, beforeCommit: commitKeysBeforeLog });
}
