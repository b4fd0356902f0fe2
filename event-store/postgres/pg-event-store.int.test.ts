import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Subscription } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventStoreContract } from "../../test-support/event-store-contract.js";
import { type PostgresCluster, startPostgres } from "../../test-support/postgres/cluster.js";
import { DuplicateEventIdError, EventStoreUnavailableError, WrongExpectedRevisionError } from "../errors.js";
import type { EventToAppend, LogMessage, RecordedEvent } from "../port.js";
import { PostgresEventStore } from "./pg-event-store.js";
import { APPEND_LOCK } from "./pg-schema.js";

let cluster: PostgresCluster;
let url: string;

beforeAll(async () => {
  cluster = await startPostgres();
  url = await cluster.createDatabase("events");
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

eventStoreContract("PostgresEventStore", async () => {
  const store = await PostgresEventStore.open({ url, pollIntervalMs: 200 });
  return { store, dispose: () => store.close() };
});

const events = (count: number, type = "Happened"): EventToAppend[] =>
  Array.from({ length: count }, (_, i) => ({ type, data: { i }, metadata: {} }));

async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe("PostgresEventStore: positions in commit order", () => {
  it("two writers racing from two pools: a reader following the log sees every event once, positions without a gap", async () => {
    const [a, b, reader] = await Promise.all([
      PostgresEventStore.open({ url }),
      PostgresEventStore.open({ url }),
      PostgresEventStore.open({ url, pollIntervalMs: 50 }),
    ]);
    const seen: RecordedEvent[] = [];
    let subscription: Subscription | undefined;
    try {
      const start = await reader.headPosition();
      subscription = reader
        .subscribeToAll({ from: start ?? "start", filter: { eventTypes: ["Raced"] } })
        .subscribe((e) => seen.push(e));
      const appends = Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).appendToStream(`race-${i % 7}`, events(1 + (i % 3), "Raced"), {
          expectedRevision: "any",
        }),
      );
      await Promise.all(appends);
      const total = 20 * 1 + 20 * 2 + 20 * 3;
      await eventually(() => seen.length >= total, `${total} events followed`);
      const positions = seen.map((e) => e.position.commit);
      const first = positions[0] as number;
      expect(positions).toEqual(positions.map((_, i) => first + i));
      const stored = await collect(
        reader.readAll({ from: start ?? undefined, filter: { eventTypes: ["Raced"] } }),
      );
      expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    } finally {
      subscription?.unsubscribe();
      await Promise.all([a.close(), b.close(), reader.close()]);
    }
  });

  it("an append that commits late holds back the ones after it: a follower never skips it", async () => {
    const store = await PostgresEventStore.open({ url, pollIntervalMs: 20 });
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    const messages: LogMessage[] = [];
    const subscription = store
      .followAll({ from: "end", filter: { streamPrefixes: ["late-"] } })
      .subscribe((m) => messages.push(m));
    try {
      await eventually(() => messages.some((m) => m.kind === "caught-up"), "caught up");
      // A writer in the middle of its append (the lock taken, its event inserted, not committed yet).
      await slow.query("BEGIN");
      await slow.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK]);
      const { rows } = await slow.query<{ head: string }>(
        "SELECT coalesce(max(position), 0) AS head FROM events",
      );
      const slowPosition = Number(rows[0]?.head) + 1;
      await slow.query(
        `INSERT INTO events (position, stream_id, revision, id, type, data, metadata)
         VALUES ($1, 'late-slow', 0, gen_random_uuid(), 'Slow', '{}', '{}')`,
        [slowPosition],
      );
      const fast = store.appendToStream("late-fast", events(1), { expectedRevision: "any" });
      await sleep(300); // many polls while the slow one is open
      expect(messages.filter((m) => m.kind === "event")).toEqual([]);
      await slow.query("COMMIT");
      const result = await fast;
      expect(result.position.commit).toBe(slowPosition + 1);
      await eventually(() => messages.filter((m) => m.kind === "event").length >= 2, "both events");
      const delivered = messages.flatMap((m) => (m.kind === "event" ? [m.event.streamId] : []));
      expect(delivered).toEqual(["late-slow", "late-fast"]);
    } finally {
      subscription.unsubscribe();
      await slow.end();
      await store.close();
    }
  });
});

describe("PostgresEventStore: errors at the edge", () => {
  it("an event at a revision the database already holds is a wrong expected revision; a reused id a duplicate", async () => {
    const store = await PostgresEventStore.open({ url });
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      const first = await store.appendToStream("edge-1", events(1), { expectedRevision: "no_stream" });
      // A writer that bypasses the lock (an old version, a hand-made script): the constraint refuses it.
      const clash = raw.query(
        `INSERT INTO events (position, stream_id, revision, id, type, data, metadata)
         VALUES ($1, 'edge-1', 0, gen_random_uuid(), 'T', '{}', '{}')`,
        [first.position.commit + 1000],
      );
      await expect(clash).rejects.toMatchObject({ code: "23505" });
      const id = (await collect(store.readStream("edge-1")))[0]?.id;
      await expect(
        store.appendToStream("edge-2", [{ id, type: "T", data: {}, metadata: {} }], {
          expectedRevision: "any",
        }),
      ).rejects.toBeInstanceOf(DuplicateEventIdError);
      await expect(
        store.appendToStream("edge-1", events(1), { expectedRevision: "no_stream" }),
      ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      expect(await collect(store.readStream("edge-2"))).toEqual([]);
    } finally {
      await raw.end();
      await store.close();
    }
  });

  it("a server that cannot be reached is EventStoreUnavailableError", async () => {
    await expect(
      PostgresEventStore.open({ url: "postgres://postgres@127.0.0.1:1/events" }),
    ).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });

  it("live events arrive by LISTEN/NOTIFY without waiting for the poll", async () => {
    const store = await PostgresEventStore.open({ url, pollIntervalMs: 600_000 });
    const writer = await PostgresEventStore.open({ url });
    const seen: RecordedEvent[] = [];
    const subscription = store
      .subscribeToAll({ from: "end", filter: { streamPrefixes: ["notify-"] } })
      .subscribe((e) => seen.push(e));
    try {
      // The first append may race the LISTEN; append until one arrives, within far less than the poll.
      for (let i = 0; i < 50 && seen.length === 0; i++) {
        await writer.appendToStream("notify-1", events(1), { expectedRevision: "any" });
        await sleep(100);
      }
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      subscription.unsubscribe();
      await writer.close();
      await store.close();
    }
  });
});
