import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import { EventStoreStorageError } from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import { tempDataDir } from "../test-support/service.js";
import { type Decider, DeciderRunner, type StateAtRevision, type StateSource } from "./decider-runner.js";

/*
 * The decider runner on a decider that is not the parking lot (a tally with a ceiling), over the
 * embedded event store: it is generic, and its lanes, batches and conflict retries do not depend
 * on the lot.
 */

type Add = { readonly type: "Add"; readonly tally: string; readonly amount: number };
type Added = { readonly type: "Added"; readonly amount: number };
type Tally = { readonly total: number };
const CEILING = 10;

const tally: Decider<Add, Added, Tally, string> = {
  decide: (command, state) =>
    state.total + command.amount > CEILING
      ? { ok: false, rejection: `over ${CEILING}` }
      : { ok: true, events: command.amount === 0 ? [] : [{ type: "Added", amount: command.amount }] },
  evolve: (state, event) => ({ total: state.total + event.amount }),
};

const streamOf = (key: string) => `tally-${key}`;

/** Folds the whole stream (this decider has no snapshots). */
function fullStream(store: EventStore): StateSource<Tally> {
  const catchUp = async (streamId: string, from: StateAtRevision<Tally>) => {
    let { state, revision, position } = from;
    for await (const recorded of store.readStream(streamId, { fromRevision: from.revision + 1 })) {
      state = tally.evolve(state, { type: "Added", amount: (recorded.data as { amount: number }).amount });
      revision = recorded.revision;
      position = recorded.position;
    }
    return { state, revision, position };
  };
  return {
    load: (key) => catchUp(streamOf(key), { state: { total: 0 }, revision: -1, position: null }),
    catchUp,
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runnerOn(store: EventStore, batches: number[] = []) {
  return new DeciderRunner(store, {
    decider: tally,
    keyOf: (command) => command.tally,
    streamOf,
    source: fullStream(store),
    encode: (event, context) => ({
      type: event.type,
      data: { amount: event.amount },
      metadata: { correlationId: context.correlationId, causationId: context.commandId },
    }),
    retryLimit: 3,
    cacheSize: 10,
    hooks: { onBatch: (size) => batches.push(size) },
    trace: { prefix: "tally", keyName: "tally" },
  });
}

function openStores(count: number): SqliteEventStore[] {
  const data = tempDataDir("decider-runner-");
  const file = join(data.dir, "events.sqlite");
  const stores = Array.from({ length: count }, () => SqliteEventStore.open({ file, pollIntervalMs: 20 }));
  cleanups.push(data.remove, async () => {
    for (const store of stores) await store.close();
  });
  return stores;
}

const context = (i: number) => ({
  correlationId: `corr-${i}`,
  commandId: `cmd-${i}`,
  actor: { sub: "ops-test", role: "operator" } as const,
});
const add = (amount: number, key = "a"): Add => ({ type: "Add", tally: key, amount });

describe("the decider runner, on another decider than the lot's", () => {
  it("decides the commands of one key queued together in order, each on the state the ones before it leave, in one append", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    const batches: number[] = [];
    const runner = runnerOn(store, batches);
    const outcomes = await Promise.all(
      [add(4), add(4), add(4), add(2), add(0)].map((c, i) => runner.handle(c, context(i))),
    );
    expect(outcomes.map((o) => (o.ok ? o.state.total : o.rejection))).toEqual([4, 8, "over 10", 10, 10]);
    expect(batches).toEqual([5]);
    const stream = [];
    for await (const recorded of store.readStream(streamOf("a"))) stream.push(recorded.data);
    expect(stream).toEqual([{ amount: 4 }, { amount: 4 }, { amount: 2 }]);
    // Each answer carries the position of its own last event; the no-op the batch's last before it.
    const [first, second, , fourth, fifth] = outcomes;
    expect(first?.ok && second?.ok && fourth?.ok && fifth?.ok).toBe(true);
    if (first?.ok && fourth?.ok && fifth?.ok) {
      expect(first.position?.commit).toBeLessThan(fourth.position?.commit ?? 0n);
      expect(fifth.position).toEqual(fourth.position);
    }
    // Another key is another lane and another stream.
    const other = await runner.handle(add(9, "b"), context(9));
    expect(other.ok && other.state.total).toBe(9);
  });

  it("catches up and decides again when another writer appended to the stream since the cached state", async () => {
    const [one, two] = openStores(2) as [SqliteEventStore, SqliteEventStore];
    const first = runnerOn(one);
    const second = runnerOn(two);
    expect((await first.handle(add(3), context(1))).ok).toBe(true);
    expect((await second.handle(add(5), context(2))).ok).toBe(true);
    // `first` has the tally at 3 cached; the stream holds 8: its append conflicts, it catches up,
    // and decides again on 8, where 3 more is over the ceiling.
    const outcome = await first.handle(add(3), context(3));
    expect(outcome).toEqual({ ok: false, rejection: "over 10" });
    const ok = await first.handle(add(2), context(4));
    expect(ok.ok && ok.state.total).toBe(10);
  });

  it("loads anew when the stream holds less than its cached state (a failover's new primary lacks the last write read from the old one), where catching up after it could never mend it", async () => {
    const [primary] = openStores(1) as [SqliteEventStore];
    const [standby] = openStores(1) as [SqliteEventStore];
    let current: EventStore = primary;
    // The service's one connection string: whichever server answers it now.
    const failingOver = new Proxy({} as EventStore, {
      get: (_, name) => {
        const value = (current as unknown as Record<string | symbol, unknown>)[name];
        return typeof value === "function" ? value.bind(current) : value;
      },
    });
    const runner = runnerOn(failingOver);
    expect((await runner.handle(add(3), context(1))).ok).toBe(true);
    expect((await runner.handle(add(4), context(2))).ok).toBe(true);
    // The standby got the first write only; it is promoted, the runner's cache still at 7.
    await standby.appendToStream(streamOf("a"), [{ type: "Added", data: { amount: 3 }, metadata: {} }], {
      expectedRevision: "no_stream",
    });
    current = standby;
    const outcome = await runner.handle(add(2), context(3));
    expect(outcome.ok && outcome.state.total).toBe(5);
    const stream = [];
    for await (const recorded of standby.readStream(streamOf("a"))) stream.push(recorded.data);
    expect(stream).toEqual([{ amount: 3 }, { amount: 2 }]);
  });

  it("keeps nothing of a batch whose append failed for a full disk: every command of it is refused, the state is the one before", async () => {
    const [store] = openStores(1) as [SqliteEventStore];
    let full = false;
    // The store as it answers when its disk is full (its own test shows SQLite's SQLITE_FULL
    // becoming this error for every append of the group commit).
    const filling: EventStore = Object.assign(Object.create(store) as EventStore, {
      appendToStream: (...args: Parameters<EventStore["appendToStream"]>) =>
        full
          ? Promise.reject(new EventStoreStorageError("no space left (test)", "full"))
          : store.appendToStream(...args),
    });
    const runner = runnerOn(filling);
    expect((await runner.handle(add(2), context(1))).ok).toBe(true);
    full = true;
    const batch = await Promise.allSettled(
      [add(3), add(3), add(0)].map((c, i) => runner.handle(c, context(10 + i))),
    );
    expect(batch.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const o of batch) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(EventStoreStorageError);
    full = false;
    // Had the cache kept the failed batch's state (8), 8 more would be refused as over the ceiling.
    const after = await runner.handle(add(8), context(99));
    expect(after.ok && after.state.total).toBe(10);
    const stream = [];
    for await (const recorded of store.readStream(streamOf("a"))) stream.push(recorded.data);
    expect(stream).toEqual([{ amount: 2 }, { amount: 8 }]);
  });
});
