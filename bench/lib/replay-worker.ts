import { join } from "node:path";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { PROJECTIONS } from "../../projections/read-models/index.js";
import { MIN_GRACE_MS, rebuildProjections } from "../../projections/replay.js";
import { decodeEvent } from "../../schemas/event-codec.js";

/**
 * The process that does the replay of scenario 4 (so that its memory is its own): on DATA_DIR,
 * 1. reads every event raw from the event store (readAll: the store's read and JSON decoding),
 * 2. reads them again through the codec (schema validation, as the projector decodes them),
 * 3. rebuilds every read model from the whole log with rebuildProjections (what
 *    `npm run replay -- rebuild all` runs), timed until the rebuilt generations are active: caught
 *    up with the head of the log, indexes built (the grace period before the old generations are
 *    dropped, a fixed wait, is left out).
 * Reports progress on stderr and the result as one JSON line on stdout (its peak memory is read from outside).
 */

export interface Phase {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

const GRACE_MS = 0;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Runs a phase; `work` returns the events it handled and, if it knows better, its own duration. */
async function phase(
  name: string,
  work: () => Promise<{ events: number; seconds?: number }>,
): Promise<Phase> {
  (globalThis as { gc?: () => void }).gc?.();
  const started = process.hrtime.bigint();
  const done = await work();
  const seconds = done.seconds ?? Number(process.hrtime.bigint() - started) / 1e9;
  const result = {
    events: done.events,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSecond: Math.round(done.events / seconds),
  };
  process.stderr.write(
    `  ${name}: ${fmt(done.events)} events in ${result.seconds} s = ${fmt(result.eventsPerSecond)} events/s\n`,
  );
  return result;
}

export interface WorkerReport {
  readonly head: number;
  readonly raw: Phase;
  readonly decoded: Phase;
  readonly rebuild: Phase;
}

async function main(): Promise<void> {
  const dataDir = process.env.DATA_DIR as string;
  const eventStore = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
  const documentStore = SqliteDocumentStore.open({ file: join(dataDir, "read-models.sqlite") });
  try {
    const head = (await eventStore.headPosition())?.commit ?? 0;
    // Warm the OS page cache so that the first measured pass does not pay for cold disk reads.
    for await (const _ of eventStore.readAll()) {
      // nothing
    }
    const raw = await phase("raw read (readAll)", async () => {
      let events = 0;
      for await (const _ of eventStore.readAll()) events++;
      return { events };
    });
    const decoded = await phase("read + decode (readAll + codec)", async () => {
      let events = 0;
      for await (const recorded of eventStore.readAll()) {
        decodeEvent(recorded);
        events++;
      }
      return { events };
    });
    const rebuild = await phase("rebuild all read models", async () => {
      const started = process.hrtime.bigint();
      const result = await rebuildProjections({
        eventStore,
        documentStore,
        projections: PROJECTIONS,
        logger: createLogger("warn", { component: "bench-replay" }),
        ...(process.env.BATCH_SIZE ? { batchSize: Number(process.env.BATCH_SIZE) } : {}),
        graceMs: GRACE_MS,
      });
      // Until the rebuilt generations are active: leave out the fixed grace wait before the old
      // generations are dropped (nothing to drop here).
      const total = Number(process.hrtime.bigint() - started) / 1e9;
      return {
        events: result.position?.commit ?? 0,
        seconds: total - Math.max(GRACE_MS, MIN_GRACE_MS) / 1000,
      };
    });
    const report: WorkerReport = { head, raw, decoded, rebuild };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await eventStore.close();
    await documentStore.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `replay worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
