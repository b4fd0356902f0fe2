import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import type { Observable, Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventStoreClosedError, WrongExpectedRevisionError } from "./errors.js";
import type { EventStore, EventToAppend, ExpectedRevision, LogMessage, RecordedEvent } from "./port.js";
import { comparePositions, type Position } from "./position.js";

/**
 * The behaviour every EventStore adapter must have. Each test works in streams of its own
 * (a fresh category `c<uuid>-`), and everything it asserts about the global log is read through a
 * filter on that category or on types of its own, so the suite also runs against a shared server
 * whose log holds other events.
 */
export function eventStoreContract(
  name: string,
  open: () => Promise<{ store: EventStore; dispose: () => Promise<void> }>,
): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let dispose: () => Promise<void>;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      ({ store, dispose } = await open());
    });

    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      await dispose();
    });

    /** Starts recording a subscription (unsubscribed after the test). */
    function record(observable: Observable<RecordedEvent>): Recording {
      const recording: Recording = {
        events: [],
        error: undefined,
        completed: false,
        subscription: undefined,
      };
      recording.subscription = observable.subscribe({
        next: (event) => recording.events.push(event),
        error: (error: unknown) => {
          recording.error = error;
        },
        complete: () => {
          recording.completed = true;
        },
      });
      subscriptions.push(recording.subscription);
      return recording;
    }

    async function append(
      streamId: string,
      events: readonly EventToAppend[],
      expectedRevision: ExpectedRevision = "any",
    ) {
      return store.appendToStream(streamId, events, { expectedRevision });
    }

    /**
     * A subscription from "end" is live once the store has registered it, which a remote server
     * does asynchronously: append probes to a stream of the test until one comes through.
     */
    async function untilLive(recording: Recording, probeStream: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      const arrived = () => recording.events.some((e) => e.streamId === probeStream);
      while (!arrived()) {
        if (Date.now() > deadline) throw new Error("the subscription never went live");
        await append(probeStream, events(1));
        const wait = Date.now() + 250;
        while (!arrived() && Date.now() < wait) await sleep(5);
      }
    }

    describe("appendToStream", () => {
      it("reads back ids, types, data, metadata, revisions and creation time", async () => {
        const streamId = `${newCategory()}lot-1`;
        const givenId = randomUUID();
        const before = Date.now();
        const result = await append(
          streamId,
          [
            {
              id: givenId,
              type: "ParkingLotRegistered",
              data: {
                parkingLotId: "1",
                name: "Lot",
                capacity: 5,
                tags: ["a", "b"],
                nested: { ok: true, none: null },
              },
              metadata: { correlationId: "corr-1", causationId: "cause-1", schemaVersion: 1 },
            },
            { type: "ParkingReserved", data: { amount: 5000.5, count: -3 }, metadata: {} },
          ],
          "no_stream",
        );
        const after = Date.now();
        expect(result.nextExpectedRevision).toBe(1);

        const events = await collect(store.readStream(streamId));
        expect(events).toHaveLength(2);
        const [first, second] = events as [RecordedEvent, RecordedEvent];
        expect(first).toMatchObject({
          id: givenId,
          streamId,
          revision: 0,
          type: "ParkingLotRegistered",
          data: {
            parkingLotId: "1",
            name: "Lot",
            capacity: 5,
            tags: ["a", "b"],
            nested: { ok: true, none: null },
          },
          metadata: { correlationId: "corr-1", causationId: "cause-1", schemaVersion: 1 },
        });
        expect(second).toMatchObject({
          streamId,
          revision: 1,
          type: "ParkingReserved",
          data: { amount: 5000.5, count: -3 },
          metadata: {},
        });
        expect(second.id).toMatch(UUID);
        expect(second.id).not.toBe(first.id);
        for (const event of events) {
          expect(event.createdAt).toBeInstanceOf(Date);
          // Server clocks may differ from ours: only a sanity window.
          expect(Math.abs(event.createdAt.getTime() - (before + after) / 2)).toBeLessThan(10 * 60_000);
        }
        expect(comparePositions(second.position, first.position)).toBeGreaterThan(0);
        // The append's position is its last event's. (EventStoreDB reports the commit position of the
        // write; the prepare part may name the transaction, so only `commit` is compared.)
        expect(second.position.commit).toBe(result.position.commit);
      });

      it("continues the revisions of an existing stream", async () => {
        const streamId = `${newCategory()}s`;
        await append(streamId, events(2), "no_stream");
        const result = await append(streamId, events(3), 1);
        expect(result.nextExpectedRevision).toBe(4);
        expect((await collect(store.readStream(streamId))).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
      });

      it('"no_stream" succeeds on a new stream and fails on an existing one', async () => {
        const streamId = `${newCategory()}s`;
        await append(streamId, events(2), "no_stream");
        const error = await rejection(append(streamId, events(1), "no_stream"));
        expectWrongRevision(error, streamId, "no_stream", 1);
      });

      it('"stream_exists" fails on a missing stream and succeeds on an existing one', async () => {
        const streamId = `${newCategory()}s`;
        const error = await rejection(append(streamId, events(1), "stream_exists"));
        expectWrongRevision(error, streamId, "stream_exists", "no_stream");
        await append(streamId, events(1), "no_stream");
        const result = await append(streamId, events(1), "stream_exists");
        expect(result.nextExpectedRevision).toBe(1);
      });

      it("a revision number must be the revision of the stream's last event", async () => {
        const streamId = `${newCategory()}s`;
        expectWrongRevision(await rejection(append(streamId, events(1), 0)), streamId, 0, "no_stream");
        await append(streamId, events(2), "no_stream");
        expectWrongRevision(await rejection(append(streamId, events(1), 0)), streamId, 0, 1);
        expectWrongRevision(await rejection(append(streamId, events(1), 5)), streamId, 5, 1);
        const result = await append(streamId, events(1), 1);
        expect(result.nextExpectedRevision).toBe(2);
        expect(await collect(store.readStream(streamId))).toHaveLength(3);
      });

      it('"any" appends whatever the stream is at', async () => {
        const streamId = `${newCategory()}s`;
        expect((await append(streamId, events(1), "any")).nextExpectedRevision).toBe(0);
        expect((await append(streamId, events(2), "any")).nextExpectedRevision).toBe(2);
      });

      it("a multi-event append is atomic", async () => {
        const category = newCategory();
        const streamId = `${category}s`;
        await append(streamId, events(1), "no_stream");
        await rejection(append(streamId, events(3), "no_stream"));
        expect(await collect(store.readStream(streamId))).toHaveLength(1);
        expect(await collect(store.readAll({ filter: { streamPrefixes: [category] } }))).toHaveLength(1);

        const result = await append(streamId, events(3), 0);
        const read = await collect(store.readStream(streamId));
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
        expectIncreasing(read.map((e) => e.position));
        expect(read[3]?.position.commit).toBe(result.position.commit);
      });

      it("positions increase strictly in log order, across streams", async () => {
        const category = newCategory();
        const positions: Position[] = [];
        for (const streamId of ["a", "b", "a", "c", "b"]) {
          positions.push((await append(`${category}${streamId}`, events(1))).position);
        }
        expectIncreasing(positions);
        const all = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
        expect(all.map((e) => e.position.commit)).toEqual(positions.map((p) => p.commit));
      });

      it("of concurrent appends expecting the same revision exactly one wins", async () => {
        const streamId = `${newCategory()}s`;
        await append(streamId, events(1), "no_stream");
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.appendToStream(streamId, events(1), { expectedRevision: 0 })),
        );
        const won = outcomes.filter((o) => o.status === "fulfilled");
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(7);
        for (const { reason } of lost) expectWrongRevision(reason, streamId, 0, 1);
        expect(await collect(store.readStream(streamId))).toHaveLength(2);
      });

      it('of concurrent "no_stream" appends exactly one creates the stream', async () => {
        const streamId = `${newCategory()}s`;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 5 }, () =>
            store.appendToStream(streamId, events(2), { expectedRevision: "no_stream" }),
          ),
        );
        expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === "rejected") expectWrongRevision(outcome.reason, streamId, "no_stream", 1);
        }
        expect(await collect(store.readStream(streamId))).toHaveLength(2);
      });

      it("round-trips Unicode in stream names, data and metadata", async () => {
        const category = newCategory();
        const streamId = `${category}강남-주차장-1`;
        const data = { carNumber: "10더8612", name: "강남 1주차장", note: "ünïcødé 🚗 𝄞 中文", empty: "" };
        const metadata = { correlationId: "요청-1", causationId: "🚗" };
        await append(streamId, [{ type: "ParkingReserved", data, metadata }], "no_stream");
        const [event] = await collect(store.readStream(streamId));
        expect(event?.streamId).toBe(streamId);
        expect(event?.data).toEqual(data);
        expect(event?.metadata).toEqual(metadata);
        const [fromAll] = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
        expect(fromAll?.data).toEqual(data);
      });
    });

    describe("readStream", () => {
      it("reads forwards and backwards, from a revision, at most maxCount", async () => {
        const streamId = `${newCategory()}s`;
        await append(streamId, events(10), "no_stream");
        const revisions = async (options: Parameters<EventStore["readStream"]>[1]) =>
          (await collect(store.readStream(streamId, options))).map((e) => e.revision);
        expect(await revisions({})).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await revisions({ fromRevision: 3, maxCount: 4 })).toEqual([3, 4, 5, 6]);
        expect(await revisions({ fromRevision: 8 })).toEqual([8, 9]);
        expect(await revisions({ fromRevision: 10 })).toEqual([]);
        expect(await revisions({ direction: "backwards" })).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(await revisions({ direction: "backwards", fromRevision: 5, maxCount: 3 })).toEqual([5, 4, 3]);
        expect(await revisions({ direction: "backwards", maxCount: 1 })).toEqual([9]);
        expect(await revisions({ direction: "backwards", fromRevision: 50, maxCount: 2 })).toEqual([9, 8]);
        expect(await revisions({ maxCount: 0 })).toEqual([]);
      });

      it("yields nothing for a stream that does not exist", async () => {
        const streamId = `${newCategory()}missing`;
        expect(await collect(store.readStream(streamId))).toEqual([]);
        expect(await collect(store.readStream(streamId, { direction: "backwards" }))).toEqual([]);
      });

      it("can stop early", async () => {
        const streamId = `${newCategory()}s`;
        await append(streamId, events(5), "no_stream");
        const seen: number[] = [];
        for await (const event of store.readStream(streamId)) {
          seen.push(event.revision);
          if (seen.length === 2) break;
        }
        expect(seen).toEqual([0, 1]);
      });
    });

    describe("readAll", () => {
      /** Two streams, two types of this test, interleaved: a0 b0 a1 b1 ... */
      async function interleaved(count: number) {
        const category = newCategory();
        const typeA = `A${randomUUID().replaceAll("-", "")}`;
        const typeB = `B${randomUUID().replaceAll("-", "")}`;
        const appended: RecordedEvent[] = [];
        for (let i = 0; i < count; i++) {
          await append(`${category}a`, [{ type: typeA, data: { i }, metadata: {} }]);
          await append(`${category}b`, [{ type: typeB, data: { i }, metadata: {} }]);
        }
        for await (const event of store.readAll({ filter: { streamPrefixes: [category] } }))
          appended.push(event);
        return { category, typeA, typeB, appended };
      }

      it("reads forwards in position order, strictly after `from`, at most maxCount", async () => {
        const { category, appended } = await interleaved(5);
        expect(appended).toHaveLength(10);
        expectIncreasing(appended.map((e) => e.position));
        expect(appended.map((e) => [e.streamId.slice(category.length), (e.data as { i: number }).i])).toEqual(
          [
            ["a", 0],
            ["b", 0],
            ["a", 1],
            ["b", 1],
            ["a", 2],
            ["b", 2],
            ["a", 3],
            ["b", 3],
            ["a", 4],
            ["b", 4],
          ],
        );
        const filter = { streamPrefixes: [category] };
        const from = (appended[2] as RecordedEvent).position;
        const after = await collect(store.readAll({ filter, from }));
        expect(after.map((e) => e.id)).toEqual(appended.slice(3).map((e) => e.id));
        const limited = await collect(store.readAll({ filter, from, maxCount: 3 }));
        expect(limited.map((e) => e.id)).toEqual(appended.slice(3, 6).map((e) => e.id));
        const last = (appended[9] as RecordedEvent).position;
        expect(await collect(store.readAll({ filter, from: last }))).toEqual([]);
      });

      it("reads backwards, strictly before `from`, at most maxCount", async () => {
        const { category, appended } = await interleaved(4);
        const filter = { streamPrefixes: [category] };
        const reversed = [...appended].reverse().map((e) => e.id);
        expect((await collect(store.readAll({ filter, direction: "backwards" }))).map((e) => e.id)).toEqual(
          reversed,
        );
        const from = (appended[5] as RecordedEvent).position;
        const before = await collect(store.readAll({ filter, direction: "backwards", from }));
        expect(before.map((e) => e.id)).toEqual(
          appended
            .slice(0, 5)
            .reverse()
            .map((e) => e.id),
        );
        const limited = await collect(store.readAll({ filter, direction: "backwards", from, maxCount: 2 }));
        expect(limited.map((e) => e.id)).toEqual([appended[4]?.id, appended[3]?.id]);
        const first = (appended[0] as RecordedEvent).position;
        expect(await collect(store.readAll({ filter, direction: "backwards", from: first }))).toEqual([]);
      });

      it("filters by event types and by stream prefixes", async () => {
        const { category, typeA, typeB, appended } = await interleaved(3);
        const ofA = appended.filter((e) => e.type === typeA).map((e) => e.id);
        expect(ofA).toHaveLength(3);
        expect((await collect(store.readAll({ filter: { eventTypes: [typeA] } }))).map((e) => e.id)).toEqual(
          ofA,
        );
        expect(
          (
            await collect(
              store.readAll({ filter: { eventTypes: [typeA], streamPrefixes: undefined }, maxCount: 2 }),
            )
          ).length,
        ).toBe(2);
        const both = await collect(store.readAll({ filter: { eventTypes: [typeB, typeA] } }));
        expect(both.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        const backwardsB = await collect(
          store.readAll({ filter: { eventTypes: [typeB] }, direction: "backwards" }),
        );
        expect(backwardsB.map((e) => e.id)).toEqual(
          appended
            .filter((e) => e.type === typeB)
            .reverse()
            .map((e) => e.id),
        );
        const streamA = await collect(store.readAll({ filter: { streamPrefixes: [`${category}a`] } }));
        expect(streamA.map((e) => e.id)).toEqual(
          appended.filter((e) => e.streamId === `${category}a`).map((e) => e.id),
        );
        const twoPrefixes = await collect(
          store.readAll({ filter: { streamPrefixes: [`${category}b`, `${category}a`] } }),
        );
        expect(twoPrefixes.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        const fromSecond = await collect(
          store.readAll({
            filter: { eventTypes: [typeA, typeB] },
            from: (appended[1] as RecordedEvent).position,
          }),
        );
        expect(fromSecond.map((e) => e.id)).toEqual(appended.slice(2).map((e) => e.id));
      });

      it("an empty filter list selects nothing; both lists at once are refused", async () => {
        const { category } = await interleaved(1);
        expect(await collect(store.readAll({ filter: { eventTypes: [] } }))).toEqual([]);
        expect(await collect(store.readAll({ filter: { streamPrefixes: [] } }))).toEqual([]);
        await expect(
          collect(store.readAll({ filter: { eventTypes: ["X"], streamPrefixes: [category] } })),
        ).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe("headPosition", () => {
      it("is at or after the last appended event", async () => {
        const { position } = await append(`${newCategory()}s`, events(2));
        const head = await store.headPosition();
        expect(head).not.toBeNull();
        expect((head as Position).commit).toBeGreaterThanOrEqual(position.commit);
      });
    });

    describe("subscribeToAll", () => {
      it("catches up from the start, then delivers live events", async () => {
        const category = newCategory();
        await append(`${category}a`, events(3));
        await append(`${category}b`, events(2));
        const recording = record(
          store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
        );
        await eventually(() => recording.events.length >= 5, "catch-up");
        await append(`${category}a`, events(2));
        await append(`${category}c`, events(1));
        await eventually(() => recording.events.length >= 8, "live events");
        const stored = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
        await sleep(50);
        expect(recording.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
        expect(recording.events[7]).toEqual(stored[7]);
        expect(recording.error).toBeUndefined();
        expect(recording.completed).toBe(false);
      });

      it("starts strictly after a given position", async () => {
        const category = newCategory();
        await append(`${category}a`, events(5));
        const stored = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
        const from = (stored[1] as RecordedEvent).position;
        const recording = record(store.subscribeToAll({ from, filter: { streamPrefixes: [category] } }));
        await eventually(() => recording.events.length >= 3, "events after the position");
        await append(`${category}b`, events(1));
        await eventually(() => recording.events.length >= 4, "a live event");
        await sleep(50);
        expect(recording.events.map((e) => e.revision)).toEqual([2, 3, 4, 0]);
        expect(recording.events.slice(0, 3).map((e) => e.id)).toEqual(stored.slice(2).map((e) => e.id));
      });

      it('"end" delivers only what is appended afterwards', async () => {
        const category = newCategory();
        await append(`${category}old`, events(3));
        const recording = record(
          store.subscribeToAll({ from: "end", filter: { streamPrefixes: [category] } }),
        );
        await untilLive(recording, `${category}probe`);
        await append(`${category}new`, events(2));
        await eventually(
          () => recording.events.filter((e) => e.streamId === `${category}new`).length >= 2,
          "new",
        );
        expect(recording.events.filter((e) => e.streamId === `${category}old`)).toEqual([]);
        expect(
          recording.events.filter((e) => e.streamId === `${category}new`).map((e) => e.revision),
        ).toEqual([0, 1]);
      });

      it("filters by event types", async () => {
        const category = newCategory();
        const wanted = `W${randomUUID().replaceAll("-", "")}`;
        await append(`${category}a`, [
          { type: wanted, data: { n: 1 }, metadata: {} },
          { type: "Other", data: {}, metadata: {} },
        ]);
        const recording = record(store.subscribeToAll({ from: "start", filter: { eventTypes: [wanted] } }));
        await eventually(() => recording.events.length >= 1, "catch-up");
        await append(`${category}b`, [
          { type: "Other", data: {}, metadata: {} },
          { type: wanted, data: { n: 2 }, metadata: {} },
        ]);
        await eventually(() => recording.events.length >= 2, "a live event");
        await sleep(50);
        expect(recording.events.map((e) => [e.type, e.data])).toEqual([
          [wanted, { n: 1 }],
          [wanted, { n: 2 }],
        ]);
      });

      it("delivers each event once, in order, when appends race with the catch-up", async () => {
        const category = newCategory();
        const streams = ["a", "b", "c"].map((s) => `${category}${s}`);
        for (let i = 0; i < 30; i++) await append(streams[i % 3] as string, events(5));
        const recording = record(
          store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
        );
        const racing = (async () => {
          for (let i = 0; i < 60; i++) {
            await append(streams[i % 3] as string, events(1 + (i % 3)));
            if (i % 10 === 0) await sleep(1);
          }
        })();
        await racing;
        const total = 150 + 20 * (1 + 2 + 3);
        await eventually(() => recording.events.length >= total, `${total} events`, 30_000);
        await sleep(100);
        expect(recording.events).toHaveLength(total);
        expectIncreasing(recording.events.map((e) => e.position));
        for (const streamId of streams) {
          const revisions = recording.events.filter((e) => e.streamId === streamId).map((e) => e.revision);
          expect(revisions).toEqual(revisions.map((_, i) => i));
        }
        const stored = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
        expect(recording.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      });

      it("stops delivering once unsubscribed", async () => {
        const category = newCategory();
        await append(`${category}a`, events(1));
        const recording = record(
          store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
        );
        await eventually(() => recording.events.length >= 1, "the first event");
        recording.subscription?.unsubscribe();
        await append(`${category}a`, events(3));
        await sleep(300);
        expect(recording.events).toHaveLength(1);
        expect(recording.error).toBeUndefined();
      });
    });

    describe("followAll", () => {
      /** Follows the log, recording every message (unsubscribed after the test). */
      function follow(options: Parameters<EventStore["followAll"]>[0]) {
        const messages: LogMessage[] = [];
        let error: unknown;
        subscriptions.push(
          store.followAll(options).subscribe({
            next: (m) => messages.push(m),
            error: (e: unknown) => {
              error = e;
            },
          }),
        );
        return { messages, error: () => error };
      }
      const positionOf = (m: LogMessage) => (m.kind === "event" ? m.event.position : m.position);
      /** No event may arrive at or before a position already reported as examined. */
      function expectProgressNeverOvertakesEvents(messages: readonly LogMessage[]): void {
        let examined: Position | null = null;
        for (const m of messages) {
          const at = positionOf(m);
          if (m.kind === "event" && examined)
            expect(comparePositions(m.event.position, examined)).toBeGreaterThan(0);
          if (at && (!examined || comparePositions(at, examined) > 0)) examined = at;
        }
      }

      it("reports progress through events it does not select and that it has caught up, never ahead of an event", async () => {
        const category = newCategory();
        const wanted = `W${randomUUID().replaceAll("-", "")}`;
        await append(`${category}a`, [{ type: wanted, data: { n: 1 }, metadata: {} }]);
        const { position: last } = await append(`${category}b`, [
          { type: "Other", data: {}, metadata: {} },
          { type: "Other", data: {}, metadata: {} },
        ]);
        const followed = follow({ from: "start", filter: { eventTypes: [wanted] } });
        const progressed = () =>
          followed.messages.some(
            (m) => m.kind !== "event" && m.position !== null && comparePositions(m.position, last) >= 0,
          );
        await eventually(
          () => followed.messages.some((m) => m.kind === "caught-up") && progressed(),
          "caught up, with progress past the unselected events at the end of the log",
        );
        const caughtUp = followed.messages.filter((m) => m.kind === "caught-up");
        expect(caughtUp).toHaveLength(1);
        const delivered = followed.messages.flatMap((m) => (m.kind === "event" ? [m.event] : []));
        expect(delivered.map((e) => [e.type, e.data])).toEqual([[wanted, { n: 1 }]]);
        // The caught-up message comes after every selected event that was stored before it.
        expect(followed.messages.findIndex((m) => m.kind === "caught-up")).toBeGreaterThan(
          followed.messages.findIndex((m) => m.kind === "event"),
        );
        expectProgressNeverOvertakesEvents(followed.messages);
        expect(followed.error()).toBeUndefined();
      });

      it("delivers live events after catching up, progress still in order; subscribeToAll is its events", async () => {
        const category = newCategory();
        const wanted = `W${randomUUID().replaceAll("-", "")}`;
        await append(`${category}a`, events(2));
        const followed = follow({ from: "start", filter: { eventTypes: [wanted] } });
        await eventually(() => followed.messages.some((m) => m.kind === "caught-up"), "caught up");
        for (let i = 0; i < 5; i++)
          await append(`${category}b`, [
            { type: "Other", data: {}, metadata: {} },
            { type: wanted, data: { n: i }, metadata: {} },
          ]);
        await eventually(
          () => followed.messages.filter((m) => m.kind === "event").length >= 5,
          "five live events",
        );
        expectProgressNeverOvertakesEvents(followed.messages);
        const delivered = followed.messages.flatMap((m) => (m.kind === "event" ? [m.event.data] : []));
        expect(delivered).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
      });
    });

    describe("close", () => {
      it("errors open subscriptions and refuses further calls with EventStoreClosedError", async () => {
        const category = newCategory();
        await append(`${category}a`, events(1));
        const recording = record(
          store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
        );
        await eventually(() => recording.events.length >= 1, "the first event");
        await store.close();
        await eventually(() => recording.error !== undefined, "the subscription to error");
        expect(recording.error).toBeInstanceOf(EventStoreClosedError);
        expect(recording.completed).toBe(false);
        await expect(append(`${category}a`, events(1))).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(collect(store.readStream(`${category}a`))).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(collect(store.readAll())).rejects.toBeInstanceOf(EventStoreClosedError);
        await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreClosedError);
        const late = record(store.subscribeToAll({ from: "start" }));
        await eventually(() => late.error !== undefined, "a late subscription to error");
        expect(late.error).toBeInstanceOf(EventStoreClosedError);
        await store.close(); // closing twice is harmless
      });
    });

    describe("properties", () => {
      it("streams and the global log hold exactly what was appended, in order", async () => {
        const payload = fc.record({
          text: fc.string({ unit: "grapheme", maxLength: 12 }),
          n: fc.integer(),
          flag: fc.boolean(),
          list: fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 3 }),
        });
        const operation = fc.record({
          stream: fc.integer({ min: 0, max: 2 }),
          batch: fc.array(payload, { minLength: 1, maxLength: 3 }),
        });
        await fc.assert(
          fc.asyncProperty(
            fc.array(operation, { minLength: 1, maxLength: 10 }),
            fc.boolean(),
            async (ops, concurrent) => {
              const category = newCategory();
              const streamOf = (n: number) => `${category}s${n}`;
              const toAppend = ops.map((op) => ({
                streamId: streamOf(op.stream),
                events: op.batch.map((data): EventToAppend & { id: string } => ({
                  id: randomUUID(),
                  type: "Generated",
                  data,
                  metadata: { n: data.n },
                })),
              }));

              let logOrder: { streamId: string; id: string; data: unknown }[];
              if (concurrent) {
                // Racing appends: the log decides the order; every append lands whole.
                const results = await Promise.all(
                  toAppend.map((a) =>
                    store.appendToStream(a.streamId, a.events, { expectedRevision: "any" }),
                  ),
                );
                const order = toAppend
                  .map((a, i) => ({ a, position: (results[i] as { position: Position }).position }))
                  .sort((x, y) => x.position.commit - y.position.commit);
                logOrder = order.flatMap(({ a }) =>
                  a.events.map((e) => ({ streamId: a.streamId, id: e.id, data: e.data })),
                );
              } else {
                const revisions = new Map<string, number>();
                for (const a of toAppend) {
                  const result = await store.appendToStream(a.streamId, a.events, {
                    expectedRevision: revisions.get(a.streamId) ?? "no_stream",
                  });
                  revisions.set(a.streamId, result.nextExpectedRevision);
                }
                logOrder = toAppend.flatMap((a) =>
                  a.events.map((e) => ({ streamId: a.streamId, id: e.id, data: e.data })),
                );
              }

              for (let n = 0; n <= 2; n++) {
                const read = await collect(store.readStream(streamOf(n)));
                const expected = logOrder.filter((e) => e.streamId === streamOf(n));
                expect(read.map((e) => e.id)).toEqual(expected.map((e) => e.id));
                expect(read.map((e) => e.data)).toEqual(expected.map((e) => e.data));
                expect(read.map((e) => e.revision)).toEqual(expected.map((_, i) => i));
              }
              const all = await collect(store.readAll({ filter: { streamPrefixes: [category] } }));
              expect(all.map((e) => e.id)).toEqual(logOrder.map((e) => e.id));
              expectIncreasing(all.map((e) => e.position));
            },
          ),
          { numRuns: 15 },
        );
      });
    });
  });
}

interface Recording {
  readonly events: RecordedEvent[];
  error: unknown;
  completed: boolean;
  subscription: Subscription | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A category of streams no other test (or earlier run against a shared server) uses. */
function newCategory(): string {
  return `c${randomUUID().replaceAll("-", "")}-`;
}

function events(count: number): EventToAppend[] {
  return Array.from({ length: count }, (_, i) => ({ type: "Happened", data: { i }, metadata: { i } }));
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function expectWrongRevision(
  error: unknown,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | "no_stream",
): void {
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  const wrong = error as WrongExpectedRevisionError;
  expect(wrong.streamId).toBe(streamId);
  expect(wrong.expected).toBe(expected);
  expect(wrong.actual).toBe(actual);
}

function expectIncreasing(positions: readonly Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    expect(comparePositions(positions[i] as Position, positions[i - 1] as Position)).toBeGreaterThan(0);
  }
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
