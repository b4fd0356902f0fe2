import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import type { RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import { createLogger } from "../../platform/logger.js";
import { EVENT_TYPES } from "../../schemas/events.js";
import { seedLotEvents } from "../../test-support/seed.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import { checkpointOp } from "./checkpoints.js";
import { Leases } from "./leases.js";
import type { Reactor } from "./processor.js";
import { ProcessorRuntime } from "./processor-runtime.js";

const logger = createLogger("silent");
const LEASE = { ttlMs: 400, renewMs: 100 } as const;

/**
 * A reactor whose state lives in memory (the control center's books) resumes where its kept state
 * is (Reactor.resume), not at its checkpoint: the runtime asks it whenever it starts working on it
 * (at start, on taking its lease) and hands it the log after that position.
 */
describe("the runtime resumes a reactor that keeps its state in memory where it says", () => {
  let data: { dir: string; remove: () => void };
  let events: SqliteEventStore;
  let docs: SqliteDocumentStore;
  let log: RecordedEvent[];
  const runtimes: ProcessorRuntime[] = [];

  beforeEach(async () => {
    data = tempDataDir("parking-resume-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
    docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    await seedLotEvents(events, { lots: 1, capacity: 50, reservations: 30, cancellations: 5, stays: 5 });
    log = [];
    for await (const raw of events.readAll()) log.push(raw);
  });

  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop().catch(() => undefined);
    await docs.close();
    await events.close();
    data.remove();
  });

  /** A reactor that resumes at the `at`th event of the log and records what it is handed. */
  function resuming(at: number) {
    const handed: Position[] = [];
    let resumed = 0;
    const reactor: Reactor = {
      name: "in-memory",
      eventTypes: new Set(EVENT_TYPES),
      collections: { in_memory_kept: [{ name: "by_at", keys: { at: 1 } }] },
      async resume() {
        resumed++;
        handed.length = 0;
        return (log[at] as RecordedEvent).position;
      },
      async react(stored) {
        handed.push(...stored.map((s) => s.position));
      },
    };
    return { reactor, handed, resumed: () => resumed };
  }

  it("at start and on a lease taken: the events after its resume position, though its checkpoint is at the head; its collections made", async () => {
    const head = (log.at(-1) as RecordedEvent).position;
    await docs.write([checkpointOp("in-memory", 1, { position: head, state: "running" })]);
    // Another process holds its lease at first: this one stands by, then takes it once it expires.
    const other = new Leases(docs, { owner: "other", ...LEASE });
    expect(await other.attempt("in-memory", null)).not.toBeNull();
    const { reactor, handed, resumed } = resuming(9);
    const runtime = new ProcessorRuntime({
      processors: [reactor],
      eventStore: events,
      documentStore: docs,
      logger,
      batchSize: 8,
      generation: "active",
      leases: new Leases(docs, { owner: "this", ...LEASE }),
    });
    runtimes.push(runtime);
    await runtime.start();
    expect(resumed()).toBe(1);
    // The collections it keeps are made with their indexes by the runtime, before any event.
    expect((await docs.explain("in_memory_kept", { at: "2026-11-29" })).indexed).toBe(true);
    expect(runtime.status()[0]?.lease).toBe("standby");
    await eventually(
      async () => (handed.length === log.length - 10 ? true : undefined),
      10_000,
      "the log after the resume position handed",
    );
    expect(resumed()).toBe(2);
    const after = log.filter((raw) => isAfter(raw.position, (log[9] as RecordedEvent).position));
    expect(handed).toEqual(after.map((raw) => raw.position));
  });
});
