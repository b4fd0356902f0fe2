import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import type { Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Database } from "../../platform/sqlite.js";
import { eventStoreContract } from "../../test-support/event-store-contract.js";
import {
  EventStoreClosedError,
  EventStoreStorageError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../errors.js";
import type { EventToAppend, RecordedEvent } from "../port.js";
import { DuplicateEventIdError } from "./sqlite-errors.js";
import { SqliteEventStore } from "./sqlite-event-store.js";
import { DDL, pageSql, rowsByPositionsSql } from "./sqlite-schema.js";

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, "../..");
const fixture = join(here, "../../test-support/fixtures/sqlite-append.ts");

const tempDirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "sqlite-event-store-"));
  tempDirs.push(dir);
  return join(dir, "nested", "events.sqlite");
}

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

eventStoreContract("SqliteEventStore", async () => {
  const store = SqliteEventStore.open({ file: tempFile() });
  return { store, dispose: () => store.close() };
});

const events = (count: number, type = "Happened"): EventToAppend[] =>
  Array.from({ length: count }, (_, i) => ({ type, data: { i }, metadata: {} }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Ack {
  readonly revision: number;
  readonly position: number;
  readonly id: string;
}

/** A fixture child process and the acks it printed so far. */
function startChild(args: string[]): { child: ChildProcess; acks: Ack[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acks: Ack[] = [];
  let buffered = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const [word, revision, position, id] = line.split(" ");
      if (word === "ack" && id !== undefined)
        acks.push({ revision: Number(revision), position: Number(position), id });
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal !== "SIGKILL")
        reject(new Error(`fixture exited with ${code ?? signal}: ${stderr}`));
      else resolveExit(code);
    });
  });
  return { child, acks, exited };
}

describe("SqliteEventStore (embedded only)", () => {
  let file: string;
  let store: SqliteEventStore;
  const subscriptions: Subscription[] = [];

  beforeEach(() => {
    file = tempFile();
    store = SqliteEventStore.open({ file, pollIntervalMs: 50 });
  });

  afterEach(async () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    await store.close();
  });

  it("has no head on an empty log, then the position of the last event", async () => {
    expect(await store.headPosition()).toBeNull();
    await store.appendToStream("a-1", events(2), { expectedRevision: "no_stream" });
    const { position } = await store.appendToStream("b-1", events(1), { expectedRevision: "no_stream" });
    expect(position).toEqual({ commit: 3, prepare: 3 });
    expect(await store.headPosition()).toEqual(position);
  });

  it("refuses a duplicate event id and appends nothing of that append", async () => {
    const id = randomUUID();
    await store.appendToStream("a-1", [{ id, type: "T", data: {}, metadata: {} }], {
      expectedRevision: "any",
    });
    await expect(
      store.appendToStream(
        "b-1",
        [...events(2), { id: id.toUpperCase(), type: "T", data: {}, metadata: {} }],
        {
          expectedRevision: "any",
        },
      ),
    ).rejects.toBeInstanceOf(DuplicateEventIdError);
    const twice = randomUUID();
    await expect(
      store.appendToStream(
        "c-1",
        [
          { id: twice, type: "T", data: {}, metadata: {} },
          { id: twice, type: "T", data: {}, metadata: {} },
        ],
        { expectedRevision: "any" },
      ),
    ).rejects.toBeInstanceOf(DuplicateEventIdError);
    expect(await collect(store.readAll())).toHaveLength(1);
  });

  it("commits concurrent appends together, each succeeding or failing on its own", async () => {
    await store.appendToStream("lot-b", events(1), { expectedRevision: "no_stream" });
    const duplicate = randomUUID();
    await store.appendToStream("lot-x", [{ id: duplicate, type: "T", data: {}, metadata: {} }], {
      expectedRevision: "any",
    });
    const outcomes = await Promise.allSettled([
      store.appendToStream("lot-a", events(2), { expectedRevision: "no_stream" }),
      store.appendToStream("lot-b", events(1), { expectedRevision: 5 }),
      store.appendToStream("lot-c", events(1), { expectedRevision: "no_stream" }),
      store.appendToStream("lot-d", [{ id: duplicate, type: "T", data: {}, metadata: {} }], {
        expectedRevision: "any",
      }),
      store.appendToStream("lot-a", events(1), { expectedRevision: 1 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateEventIdError);
    const all = await collect(store.readAll());
    expect(all.map((e) => `${e.streamId}@${e.revision}`)).toEqual([
      "lot-b@0",
      "lot-x@0",
      "lot-a@0",
      "lot-a@1",
      "lot-c@0",
      "lot-a@2",
    ]);
    expect(all.map((e) => e.position.commit)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses every append of a group whose commit finds the disk full, keeps none, and commits again once there is room", async () => {
    await store.appendToStream("lot-a", events(1), { expectedRevision: "no_stream" });
    // SQLite's own cap on the file's pages: it answers SQLITE_FULL as a full disk does.
    const db = (store as unknown as { db: BetterSqlite3.Database }).db;
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const big = (n: number): EventToAppend[] =>
      Array.from({ length: n }, (_, i) => ({
        type: "Big",
        data: { i, pad: "x".repeat(8000) },
        metadata: {},
      }));
    const outcomes = await Promise.allSettled([
      store.appendToStream("lot-a", big(2), { expectedRevision: 0 }),
      store.appendToStream("lot-b", big(3), { expectedRevision: "no_stream" }),
      store.appendToStream("lot-c", events(1), { expectedRevision: "no_stream" }),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason as EventStoreStorageError;
      expect(reason).toBeInstanceOf(EventStoreStorageError);
      expect(reason).toBeInstanceOf(EventStoreUnavailableError);
      expect(reason.storage).toBe("full");
    }
    expect((await collect(store.readAll())).map((e) => `${e.streamId}@${e.revision}`)).toEqual(["lot-a@0"]);
    db.pragma("max_page_count = 1073741823");
    const again = await store.appendToStream("lot-a", big(2), { expectedRevision: 0 });
    expect(again.nextExpectedRevision).toBe(2);
    expect((await collect(store.readAll())).map((e) => e.position.commit)).toEqual([1, 2, 3]);
  });

  it("rejects malformed appends before touching the file", async () => {
    const append = (streamId: string, list: EventToAppend[], expectedRevision: never) =>
      store.appendToStream(streamId, list, { expectedRevision });
    await expect(append("a", [], "any" as never)).rejects.toBeInstanceOf(RangeError);
    await expect(append("", events(1), "any" as never)).rejects.toBeInstanceOf(RangeError);
    await expect(append("a", events(1), -1 as never)).rejects.toBeInstanceOf(RangeError);
    await expect(append("a", events(1), 1.5 as never)).rejects.toBeInstanceOf(RangeError);
    await expect(
      append("a", [{ id: "not-a-uuid", type: "T", data: {}, metadata: {} }], "any" as never),
    ).rejects.toBeInstanceOf(RangeError);
    await expect(append("a", [{ type: "", data: {}, metadata: {} }], "any" as never)).rejects.toBeInstanceOf(
      RangeError,
    );
    expect(await store.headPosition()).toBeNull();
  });

  it("selects streams by prefixes with and without a dash, and by many categories", async () => {
    for (const streamId of ["abcX-1", "abd-1", "abcY-2", "abc", "ab-c", "abcX-10", "abcX-2"]) {
      await store.appendToStream(streamId, events(1), { expectedRevision: "any" });
    }
    const streams = async (streamPrefixes: string[]) =>
      (await collect(store.readAll({ filter: { streamPrefixes } }))).map((e) => e.streamId);
    expect(await streams(["abc"])).toEqual(["abcX-1", "abcY-2", "abc", "abcX-10", "abcX-2"]);
    expect(await streams(["abcX-1"])).toEqual(["abcX-1", "abcX-10"]);
    expect(await streams(["abcX-"])).toEqual(["abcX-1", "abcX-10", "abcX-2"]);
    expect(await streams(["ab-", "abd"])).toEqual(["abd-1", "ab-c"]);
    expect(await streams(["ab", "abc"])).toHaveLength(7);
    expect(await streams(["zz"])).toEqual([]);
    // More categories than are merged through the index: the read scans the range instead.
    const many = Array.from({ length: 40 }, (_, i) => `many${i}`);
    for (const streamId of many) await store.appendToStream(streamId, events(1), { expectedRevision: "any" });
    expect(await streams(["many"])).toEqual(many);
    expect((await collect(store.readAll({ filter: { streamPrefixes: ["many"] }, maxCount: 3 }))).length).toBe(
      3,
    );
    const backwards = await collect(
      store.readAll({ filter: { streamPrefixes: ["many"] }, direction: "backwards" }),
    );
    expect(backwards.map((e) => e.streamId)).toEqual([...many].reverse());
    const live: string[] = [];
    subscriptions.push(
      store.subscribeToAll({ from: "start", filter: { streamPrefixes: ["many"] } }).subscribe((e) => {
        live.push(e.streamId);
      }),
    );
    await store.appendToStream("many40", events(1), { expectedRevision: "any" });
    await eventually(() => live.length === 41, "41 events");
    expect(live).toEqual([...many, "many40"]);
  });

  it("reads a type filter right through dense and sparse stretches of the log, in both directions and live", async () => {
    // Dense for [A, B] (the read switches to scanning the range), sparse (back to the index), dense again.
    const stretches: [string, number][] = [
      ["A", 1500],
      ["B", 700],
      ["C", 1800],
      ["A", 3],
      ["C", 1200],
      ["B", 2500],
      ["C", 40],
      ["A", 1100],
    ];
    for (const [type, count] of stretches) {
      for (let done = 0; done < count; done += 500)
        await store.appendToStream(`s-${type}`, events(Math.min(500, count - done), type), {
          expectedRevision: "any",
        });
    }
    const all = await collect(store.readAll());
    const selected = all.filter((e) => e.type === "A" || e.type === "B").map((e) => e.position.commit);
    const filter = { eventTypes: ["A", "B"] };
    const forwards = await collect(store.readAll({ filter }));
    expect(forwards.map((e) => e.position.commit)).toEqual(selected);
    const backwards = await collect(store.readAll({ filter, direction: "backwards" }));
    expect(backwards.map((e) => e.position.commit)).toEqual([...selected].reverse());
    const from = { commit: 3000, prepare: 3000 };
    const after = await collect(store.readAll({ filter, from, maxCount: 2000 }));
    expect(after.map((e) => e.position.commit)).toEqual(selected.filter((p) => p > 3000).slice(0, 2000));
    const live: number[] = [];
    subscriptions.push(
      store.subscribeToAll({ from: "start", filter }).subscribe((e) => live.push(e.position.commit)),
    );
    await eventually(() => live.length === selected.length, `${selected.length} events`);
    expect(live).toEqual(selected);
  });

  it("pages through reads longer than a page, in both directions", async () => {
    for (let i = 0; i < 5; i++) {
      await store.appendToStream("big-1", events(500), { expectedRevision: "any" });
      await store.appendToStream("other-1", events(10, "Other"), { expectedRevision: "any" });
    }
    expect((await collect(store.readStream("big-1"))).map((e) => e.revision)).toEqual(
      Array.from({ length: 2500 }, (_, i) => i),
    );
    const backwards = await collect(
      store.readStream("big-1", { direction: "backwards", fromRevision: 2200 }),
    );
    expect(backwards.map((e) => e.revision)).toEqual(Array.from({ length: 2201 }, (_, i) => 2200 - i));
    expect(await collect(store.readAll())).toHaveLength(2550);
    expect(
      await collect(store.readAll({ filter: { eventTypes: ["Happened"] }, maxCount: 2100 })),
    ).toHaveLength(2100);
    const others = await collect(
      store.readAll({ filter: { eventTypes: ["Other", "Nope"] }, direction: "backwards" }),
    );
    expect(others).toHaveLength(50);
    expect(others[0]?.position.commit).toBe(2550);
  });

  it("delivers this process's appends to live subscribers without waiting for the poll", async () => {
    store = await reopen(store, { file, pollIntervalMs: 3_600_000 });
    const received: RecordedEvent[] = [];
    subscriptions.push(store.subscribeToAll({ from: "end" }).subscribe((e) => received.push(e)));
    await store.appendToStream("a-1", events(3), { expectedRevision: "no_stream" });
    await eventually(() => received.length === 3, "3 live events");
    expect(received.map((e) => e.revision)).toEqual([0, 1, 2]);
  });

  it("polls only while someone subscribes: unsubscribing leaves no timer behind", async () => {
    const started = vi.spyOn(globalThis, "setInterval");
    const cleared = vi.spyOn(globalThis, "clearInterval");
    try {
      const first = store.subscribeToAll({ from: "start" }).subscribe();
      const second = store.subscribeToAll({ from: "end" }).subscribe();
      await sleep(1);
      expect(started).toHaveBeenCalledTimes(1);
      const timer = started.mock.results[0]?.value as NodeJS.Timeout;
      first.unsubscribe();
      expect(cleared).not.toHaveBeenCalledWith(timer);
      second.unsubscribe();
      expect(cleared).toHaveBeenCalledWith(timer);
      const errors: unknown[] = [];
      const third = store.subscribeToAll({ from: "end" }).subscribe({ error: (e) => errors.push(e) });
      expect(started).toHaveBeenCalledTimes(2);
      await store.close(); // closing ends the subscription and its timer too
      expect(third.closed).toBe(true);
      expect(errors[0]).toBeInstanceOf(EventStoreClosedError);
      expect(cleared).toHaveBeenCalledWith(started.mock.results[1]?.value);
    } finally {
      started.mockRestore();
      cleared.mockRestore();
    }
  });

  it("yields to the event loop during a large catch-up", async () => {
    for (let i = 0; i < 5; i++)
      await store.appendToStream("bulk-1", events(1000), { expectedRevision: "any" });
    let received = 0;
    let receivedWhenTimerFired = -1;
    subscriptions.push(store.subscribeToAll({ from: "start" }).subscribe(() => received++));
    setTimeout(() => {
      receivedWhenTimerFired = received;
    }, 0);
    await eventually(() => received === 5000, "the catch-up");
    expect(receivedWhenTimerFired).toBeGreaterThanOrEqual(0);
    expect(receivedWhenTimerFired).toBeLessThan(5000);
  });

  it("keeps data and positions across a reopen; positions go on increasing", async () => {
    await store.appendToStream("a-1", events(3), { expectedRevision: "no_stream" });
    const before = await collect(store.readAll());
    store = await reopen(store, { file });
    expect(await collect(store.readAll())).toEqual(before);
    const { position } = await store.appendToStream("a-1", events(1), { expectedRevision: 2 });
    expect(position.commit).toBeGreaterThan((before[2] as RecordedEvent).position.commit);
    store = await reopen(store, { file, sync: "full" });
    await store.appendToStream("a-1", events(1), { expectedRevision: 3 });
    expect((await collect(store.readStream("a-1"))).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
    expect((await store.headPosition())?.commit).toBe(5);
  });

  it("acknowledges appends already requested when it closes", async () => {
    const pending = store.appendToStream("a-1", events(1), { expectedRevision: "no_stream" });
    await store.close();
    await expect(pending).resolves.toMatchObject({ nextExpectedRevision: 0 });
    await expect(store.appendToStream("a-1", events(1), { expectedRevision: 0 })).rejects.toBeInstanceOf(
      EventStoreClosedError,
    );
    store = SqliteEventStore.open({ file });
    expect(await collect(store.readStream("a-1"))).toHaveLength(1);
  });

  it("reads by stream, type, category and position without scanning the table", () => {
    const db = new Database(join(dirname(file), "plans.sqlite"));
    try {
      db.exec(DDL);
      const plans: string[] = [];
      const explain = (sql: string, params: Record<string, unknown>) => {
        for (const row of db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]) {
          plans.push(row.detail);
        }
      };
      for (const selection of ["all", "type", "category", "categoryPrefix"] as const) {
        for (const backwards of [false, true]) {
          for (const cols of ["row", "position"] as const) {
            explain(pageSql(selection, backwards, cols), {
              lo: 0,
              hi: 10,
              limit: 5,
              ...(selection === "all" ? {} : { key: "k" }),
              ...(selection === "categoryPrefix" ? { prefix: "p" } : {}),
            });
          }
        }
        explain(rowsByPositionsSql(false), { positions: "[1]" });
      }
      explain("SELECT revision FROM events WHERE stream_id = @s ORDER BY revision DESC LIMIT 1", { s: "s" });
      explain(
        "SELECT position FROM events WHERE stream_id = @s AND revision >= @r ORDER BY revision LIMIT 5",
        {
          s: "s",
          r: 0,
        },
      );
      expect(plans.length).toBeGreaterThan(0);
      for (const plan of plans) {
        expect(plan).not.toMatch(/^SCAN events/);
        expect(plan).not.toMatch(/TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });

  describe("with other processes", () => {
    it("keeps every acknowledged append when the writer is killed with SIGKILL", async () => {
      const streamId = "lot-killed";
      const { child, acks, exited } = startChild(["loop", file, streamId]);
      await eventually(() => acks.length >= 300, "300 acknowledged appends", 30_000);
      child.kill("SIGKILL");
      await exited;
      const acknowledged = [...acks];
      store = await reopen(store, { file });
      const stored = await collect(store.readStream(streamId));
      expect(stored.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(stored.map((e) => e.revision)).toEqual(stored.map((_, i) => i));
      for (const ack of acknowledged) {
        const event = stored[ack.revision];
        expect(event?.id).toBe(ack.id);
        expect(event?.position.commit).toBe(ack.position);
      }
      expect(stored[0]?.data).toMatchObject({ plate: "10더8612" });
    });

    it("delivers events appended by another process to a live subscription", async () => {
      const received: RecordedEvent[] = [];
      subscriptions.push(
        store
          .subscribeToAll({ from: "end", filter: { streamPrefixes: ["remote-"] } })
          .subscribe((e) => received.push(e)),
      );
      await store.appendToStream("local-1", events(1), { expectedRevision: "any" });
      const { acks, exited } = startChild(["burst", file, "remote-1", "25"]);
      await exited;
      // Appended here before the poll has seen the child's events: still delivered after them.
      await store.appendToStream("remote-2", events(1), { expectedRevision: "any" });
      await eventually(() => received.length >= 26, "25 events from the child and a local one");
      await sleep(120);
      expect(received.map((e) => `${e.streamId}@${e.revision}`)).toEqual([
        ...acks.map((a) => `remote-1@${a.revision}`),
        "remote-2@0",
      ]);
      expect(received.slice(0, 25).map((e) => e.id)).toEqual(acks.map((a) => a.id));
    });

    it("two processes contending for one stream never corrupt it", async () => {
      const streamId = "lot-contended";
      const first = startChild(["contend", file, streamId, "150"]);
      const second = startChild(["contend", file, streamId, "150"]);
      await Promise.all([first.exited, second.exited]);
      const acks = [...first.acks, ...second.acks];
      expect(acks).toHaveLength(300);
      const stored = await collect(store.readStream(streamId));
      expect(stored).toHaveLength(300);
      expect(stored.map((e) => e.revision)).toEqual(stored.map((_, i) => i));
      expect(new Set(acks.map((a) => a.revision)).size).toBe(300);
      for (const ack of acks) expect(stored[ack.revision]?.id).toBe(ack.id);
      expectIncreasing(stored.map((e) => e.position.commit));
    });
  });
});

async function reopen(
  store: SqliteEventStore,
  options: Parameters<typeof SqliteEventStore.open>[0],
): Promise<SqliteEventStore> {
  await store.close();
  return SqliteEventStore.open(options);
}

function expectIncreasing(values: readonly number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
}
