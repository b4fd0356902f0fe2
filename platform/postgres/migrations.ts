import type { Pool, PoolClient } from "pg";
import { inTransaction } from "./transaction.js";

/**
 * Schema migrations on PostgreSQL that run once and online, whichever process starts first.
 *
 * Each component (the event store, a small store of keys...) names its steps by version; the
 * versions applied are rows of `schema_migrations (component, version)`. A process that starts
 * takes a transaction-level advisory lock (one key for all migrations of the database), applies
 * the steps it does not find there and records them, and commits: DDL is transactional in
 * PostgreSQL, so a crash leaves either the whole step or nothing, and two replicas starting at once
 * apply each step once. Steps only add (CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS), so the
 * processes still running the previous version keep working while a new one migrates.
 */
export interface MigrationStep {
  readonly version: number;
  readonly sql: string;
}

/** The advisory lock key of migrations (any constant; PostgreSQL scopes advisory locks to a database). */
const MIGRATION_LOCK = 7_000_070_001;

export async function migrate(pool: Pool, component: string, steps: readonly MigrationStep[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         component text NOT NULL,
         version integer NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (component, version))`,
    );
    const applied = await appliedVersions(client, component);
    const newest = Math.max(0, ...steps.map((s) => s.version));
    const ahead = [...applied].filter((v) => v > newest);
    if (ahead.length > 0) {
      throw new Error(
        `${component}: the database has schema version ${Math.max(...ahead)}, newer than this code (${newest})`,
      );
    }
    for (const step of [...steps].sort((a, b) => a.version - b.version)) {
      if (applied.has(step.version)) continue;
      await client.query(step.sql);
      await client.query("INSERT INTO schema_migrations (component, version) VALUES ($1, $2)", [
        component,
        step.version,
      ]);
    }
  });
}

async function appliedVersions(client: PoolClient, component: string): Promise<Set<number>> {
  const { rows } = await client.query<{ version: number }>(
    "SELECT version FROM schema_migrations WHERE component = $1",
    [component],
  );
  return new Set(rows.map((r) => r.version));
}
