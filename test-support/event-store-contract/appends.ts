import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { AppendResult, RecordedEvent } from "../../event-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";
import {
  type ContractContext,
  collect,
  events,
  expectIncreasing,
  expectWrongRevision,
  newCategory,
  rejection,
  UUID,
} from "./support.js";

/** appendToStream: what lands, revisions, positions, concurrency. */
export function appendContract(ctx: ContractContext): void {
  describe("appendToStream", () => {
    it("reads back ids, types, data, metadata, revisions and creation time", async () => {
      const streamId = `${newCategory()}lot-1`;
      const givenId = randomUUID();
      const before = Date.now();
      const result = await ctx.append(
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

      const events = await collect(ctx.store.readStream(streamId));
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
      await ctx.append(streamId, events(2), "no_stream");
      const result = await ctx.append(streamId, events(3), 1);
      expect(result.nextExpectedRevision).toBe(4);
      expect((await collect(ctx.store.readStream(streamId))).map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
    });

    it('"no_stream" succeeds on a new stream and fails on an existing one', async () => {
      const streamId = `${newCategory()}s`;
      await ctx.append(streamId, events(2), "no_stream");
      const error = await rejection(ctx.append(streamId, events(1), "no_stream"));
      expectWrongRevision(error, streamId, "no_stream", 1);
    });

    it('"stream_exists" fails on a missing stream and succeeds on an existing one', async () => {
      const streamId = `${newCategory()}s`;
      const error = await rejection(ctx.append(streamId, events(1), "stream_exists"));
      expectWrongRevision(error, streamId, "stream_exists", "no_stream");
      await ctx.append(streamId, events(1), "no_stream");
      const result = await ctx.append(streamId, events(1), "stream_exists");
      expect(result.nextExpectedRevision).toBe(1);
    });

    it("a revision number must be the revision of the stream's last event", async () => {
      const streamId = `${newCategory()}s`;
      expectWrongRevision(await rejection(ctx.append(streamId, events(1), 0)), streamId, 0, "no_stream");
      await ctx.append(streamId, events(2), "no_stream");
      expectWrongRevision(await rejection(ctx.append(streamId, events(1), 0)), streamId, 0, 1);
      expectWrongRevision(await rejection(ctx.append(streamId, events(1), 5)), streamId, 5, 1);
      const result = await ctx.append(streamId, events(1), 1);
      expect(result.nextExpectedRevision).toBe(2);
      expect(await collect(ctx.store.readStream(streamId))).toHaveLength(3);
    });

    it('"any" appends whatever the stream is at', async () => {
      const streamId = `${newCategory()}s`;
      expect((await ctx.append(streamId, events(1), "any")).nextExpectedRevision).toBe(0);
      expect((await ctx.append(streamId, events(2), "any")).nextExpectedRevision).toBe(2);
    });

    it("a multi-event append is atomic", async () => {
      const category = newCategory();
      const streamId = `${category}s`;
      await ctx.append(streamId, events(1), "no_stream");
      await rejection(ctx.append(streamId, events(3), "no_stream"));
      expect(await collect(ctx.store.readStream(streamId))).toHaveLength(1);
      expect(await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }))).toHaveLength(1);

      const result = await ctx.append(streamId, events(3), 0);
      const read = await collect(ctx.store.readStream(streamId));
      expect(read.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
      expectIncreasing(read.map((e) => e.position));
      expect(read[3]?.position.commit).toBe(result.position.commit);
    });

    it("positions increase strictly in log order, across streams", async () => {
      const category = newCategory();
      const positions: Position[] = [];
      for (const streamId of ["a", "b", "a", "c", "b"]) {
        positions.push((await ctx.append(`${category}${streamId}`, events(1))).position);
      }
      expectIncreasing(positions);
      const all = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      expect(all.map((e) => e.position.commit)).toEqual(positions.map((p) => p.commit));
    });

    it("of concurrent appends expecting the same revision exactly one wins", async () => {
      const streamId = `${newCategory()}s`;
      await ctx.append(streamId, events(1), "no_stream");
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () =>
          ctx.store.appendToStream(streamId, events(1), { expectedRevision: 0 }),
        ),
      );
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const { reason } of lost) expectWrongRevision(reason, streamId, 0, 1);
      expect(await collect(ctx.store.readStream(streamId))).toHaveLength(2);
    });

    it('of concurrent "no_stream" appends exactly one creates the stream', async () => {
      const streamId = `${newCategory()}s`;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, () =>
          ctx.store.appendToStream(streamId, events(2), { expectedRevision: "no_stream" }),
        ),
      );
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expectWrongRevision(outcome.reason, streamId, "no_stream", 1);
      }
      expect(await collect(ctx.store.readStream(streamId))).toHaveLength(2);
    });

    it("of concurrent appends across streams, each is checked alone and answered with its own position", async () => {
      const category = newCategory();
      const [a, b, c] = [`${category}a`, `${category}b`, `${category}c`];
      await ctx.append(b, events(1), "no_stream");
      // Requested in one tick: an embedded store commits them together.
      const attempts = [
        { streamId: a, events: events(2), expectedRevision: "no_stream" as const },
        { streamId: b, events: events(1), expectedRevision: 5 }, // wrong: b is at 0 (or 1)
        { streamId: c, events: events(1), expectedRevision: "any" as const },
        { streamId: b, events: events(3), expectedRevision: 0 },
      ].map((attempt) => ({ ...attempt, events: attempt.events.map((e) => ({ ...e, id: randomUUID() })) }));
      const outcomes = await Promise.allSettled(
        attempts.map(({ streamId, events: toAppend, expectedRevision }) =>
          ctx.store.appendToStream(streamId, toAppend, { expectedRevision }),
        ),
      );
      const [first, wrong, third, fourth] = outcomes;
      expect(wrong?.status).toBe("rejected");
      const reason = (wrong as PromiseRejectedResult).reason as WrongExpectedRevisionError;
      expect(reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect(reason).toMatchObject({ streamId: b, expected: 5 });
      expect([0, 3]).toContain(reason.actual);

      const all = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      const failedIds = new Set<string>(attempts[1]?.events.map((e) => e.id));
      expect(all.some((e) => failedIds.has(e.id))).toBe(false);
      expect(all).toHaveLength(1 + 2 + 1 + 3);
      for (const [i, outcome] of [first, third, fourth].entries()) {
        expect(outcome?.status).toBe("fulfilled");
        const attempt = attempts[[0, 2, 3][i] as number] as (typeof attempts)[number];
        const result = (outcome as PromiseFulfilledResult<AppendResult>).value;
        // Its own position: that of its own last event, in the log and in its stream.
        const lastId = attempt.events[attempt.events.length - 1]?.id;
        const last = all.find((e) => e.id === lastId);
        expect(last?.position).toEqual(result.position);
        expect(last?.revision).toBe(result.nextExpectedRevision);
      }
      expect((await collect(ctx.store.readStream(b))).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
    });

    it("round-trips Unicode in stream names, data and metadata", async () => {
      const category = newCategory();
      const streamId = `${category}강남-주차장-1`;
      const data = { carNumber: "10더8612", name: "강남 1주차장", note: "ünïcødé 🚗 𝄞 中文", empty: "" };
      const metadata = { correlationId: "요청-1", causationId: "🚗" };
      await ctx.append(streamId, [{ type: "ParkingReserved", data, metadata }], "no_stream");
      const [event] = await collect(ctx.store.readStream(streamId));
      expect(event?.streamId).toBe(streamId);
      expect(event?.data).toEqual(data);
      expect(event?.metadata).toEqual(metadata);
      const [fromAll] = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      expect(fromAll?.data).toEqual(data);
    });
  });
}
