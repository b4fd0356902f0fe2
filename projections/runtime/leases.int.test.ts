import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteDocumentStore } from "../../document-store/embedded/sqlite-document-store.js";
import type { DocumentStore } from "../../document-store/port.js";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { createLogger } from "../../platform/logger.js";
import { foldHistory, readModels } from "../../test-support/read-models.js";
import {
  auditCoupons,
  cleanAudit,
  readAllEvents,
  type Seeded,
  seedLotEvents,
} from "../../test-support/seed.js";
import { eventually, tempDataDir } from "../../test-support/service.js";
import { createProcessors } from "../processors.js";
import { LEASES, type LeaseDocument, Leases } from "./leases.js";
import { ProcessorRuntime } from "./processor-runtime.js";

const logger = createLogger("silent");
const PLAN = {
  lots: 3,
  capacity: 400,
  reservations: 500,
  cancellations: 100,
  stays: 150,
  customers: 10,
} as const;
const LEASE = { ttlMs: 600, renewMs: 150 } as const;
/** Every processor of the service; the lot snapshotter at a short interval, so that it works here too. */
const PROCESSORS = createProcessors({});

/**
 * A document store whose writes can be held (a process paused by GC, a stopped VM, a slow disk):
 * while held, write() waits; released, the held writes go through in order.
 */
function pausable(inner: DocumentStore) {
  let held: Promise<void> | undefined;
  let release: () => void = () => undefined;
  let waiting = 0;
  const store: DocumentStore = {
    ensureIndexes: (c, i) => inner.ensureIndexes(c, i),
    prepareIndexes: (c, i) => inner.prepareIndexes(c, i),
    findById: (c, id) => inner.findById(c, id),
    find: (c, f, o) => inner.find(c, f, o),
    count: (c, f) => inner.count(c, f),
    findNear: (c, q) => inner.findNear(c, q),
    countBy: (c, f, field, o) => inner.countBy(c, f, field, o),
    write: async (ops) => {
      while (held) {
        waiting++;
        await held;
        waiting--;
      }
      await inner.write(ops);
    },
    explain: (c, f, o) => inner.explain(c, f, o),
    listCollections: () => inner.listCollections(),
    dropCollection: (c) => inner.dropCollection(c),
    close: () => inner.close(),
  };
  return {
    store,
    pause: () => {
      held ??= new Promise<void>((resolve) => (release = resolve));
    },
    resume: () => {
      const r = release;
      held = undefined;
      r();
    },
    waiting: () => waiting,
  };
}

describe("processor leases: one runtime works per processor, the others stand by (embedded stores)", () => {
  let data: { dir: string; remove: () => void };
  let events: SqliteEventStore;
  let seeded: Seeded;
  const opened: { close(): Promise<void> }[] = [];
  const runtimes: ProcessorRuntime[] = [];

  const docsStore = () => {
    const docs = SqliteDocumentStore.open({ file: join(data.dir, "read-models.sqlite") });
    opened.push(docs);
    return docs;
  };
  async function runtime(owner: string, documentStore: DocumentStore): Promise<ProcessorRuntime> {
    const r = new ProcessorRuntime({
      processors: PROCESSORS,
      eventStore: events,
      documentStore,
      logger,
      batchSize: 50,
      generation: "active",
      leases: new Leases(documentStore, { owner, ...LEASE }),
    });
    runtimes.push(r);
    await r.start();
    return r;
  }
  const head = async () => (await events.headPosition())?.commit ?? 0;
  /** Every processor held by `r` and at the head of a log that no longer grows. */
  const allAtHead = (r: ProcessorRuntime) =>
    eventually(
      async () => {
        const h = await head();
        const statuses = r.status();
        return statuses.every((s) => s.lease === "held" && s.position?.commit === h) ? h : undefined;
      },
      30_000,
      "every processor held and at the head",
    );

  async function expectExactlyOnce(): Promise<void> {
    const docs = docsStore();
    const expected = await foldHistory(events);
    const actual = await readModels(docs);
    expect(actual.totals).toEqual(expected.totals);
    expect(actual.lots).toEqual(expected.lots);
    expect(actual.coupons).toEqual(expected.coupons);
    expect(actual.reservations).toEqual(expected.reservations);
    expect(auditCoupons(await readAllEvents(events))).toEqual(
      cleanAudit(seeded.reservations.length, seeded.canceled.size),
    );
  }

  beforeEach(async () => {
    data = tempDataDir("parking-leases-");
    events = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
    seeded = await seedLotEvents(events, PLAN);
  });

  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.stop().catch(() => undefined);
    for (const o of opened.splice(0)) await o.close();
    await events.close();
    data.remove();
  });

  it("the first runtime holds every lease and works; the second stands by; a graceful stop hands over at once", async () => {
    const first = await runtime("first", docsStore());
    const second = await runtime("second", docsStore());
    expect(first.status().map((s) => s.lease)).toEqual(PROCESSORS.map(() => "held"));
    expect(second.status().map((s) => s.lease)).toEqual(PROCESSORS.map(() => "standby"));
    await allAtHead(first);
    expect(second.status().every((s) => s.lease === "standby")).toBe(true);

    await first.stop(); // releases its leases
    const docs = docsStore();
    const released = await docs.find<LeaseDocument>(LEASES, {});
    expect(released.map((l) => l.owner)).not.toContain("first");
    const h = await allAtHead(second);
    const leases = await docs.find<LeaseDocument>(LEASES, {});
    expect(leases.map((l) => [l._id, l.owner, l.epoch]).sort()).toEqual(
      PROCESSORS.map((p) => [p.name, "second", 2]).sort(),
    );
    expect(h).toBe(await head());
    await second.stop();
    await expectExactlyOnce();
  });

  it("fencing: a holder paused past its lease loses it, and its batch in flight is refused once it resumes", async () => {
    const paused = pausable(docsStore());
    const first = await runtime("first", paused.store);
    // Let it work a little, then freeze its writes (its lease renewals as well) mid-catch-up.
    await eventually(
      async () => (first.status().every((s) => (s.position?.commit ?? 0) > 0) ? true : undefined),
      20_000,
      "the first runtime under way",
    );
    paused.pause();
    await eventually(async () => (paused.waiting() > 0 ? true : undefined), 10_000, "a write held");
    const frozen = first.status().map((s) => s.position?.commit ?? 0);

    // Its leases expire; a second runtime takes them over and finishes the log.
    const second = await runtime("second", docsStore());
    const h = await allAtHead(second);
    expect(Math.max(...frozen)).toBeLessThan(h);

    // The first resumes: whatever it was writing carries its old epoch and is refused as a whole.
    paused.resume();
    await eventually(
      async () => (first.status().every((s) => s.lease === "standby") ? true : undefined),
      10_000,
      "the first runtime to notice it lost its leases",
    );
    expect(second.status().every((s) => s.lease === "held")).toBe(true);
    await first.stop();
    await second.stop();
    await expectExactlyOnce();
  });
});
