import type { Pool, PoolClient } from "pg";

/**
 * Runs `work` in one transaction on a connection of `pool`: BEGIN, then COMMIT, or ROLLBACK when it
 * throws. A connection lost meanwhile (its 'error', which would otherwise end the process unheard:
 * the next query fails instead) or one whose ROLLBACK failed is discarded, not given back to the pool.
 */
export async function inTransaction<R>(pool: Pool, work: (client: PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const lost = (error: Error) => {
    broken = error;
  };
  client.on("error", lost);
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((e: Error) => {
      broken ??= e;
    });
    throw error;
  } finally {
    client.off("error", lost);
    client.release(broken);
  }
}
