import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { WorkBudgetExceededError, WorkMeter, withWorkMeter } from "../../platform/work-budget.js";
import { type ContractContext, collect, events, expectIncreasing, newCategory } from "./support.js";

/** readStream, readAll and headPosition. */
export function readContract(ctx: ContractContext): void {
  describe("readStream", () => {
    it("reads forwards and backwards, from a revision, at most maxCount", async () => {
      const streamId = `${newCategory()}s`;
      await ctx.append(streamId, events(10), "no_stream");
      const revisions = async (options: Parameters<EventStore["readStream"]>[1]) =>
        (await collect(ctx.store.readStream(streamId, options))).map((e) => e.revision);
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

    it("charges the events it reads to the request's work budget, and ends it past the budget (issue 66)", async () => {
      const streamId = `${newCategory()}s`;
      await ctx.append(streamId, events(10), "no_stream");
      const meter = new WorkMeter("contract", { documents: 0, events: 100 });
      await withWorkMeter(meter, () => collect(ctx.store.readStream(streamId, { maxCount: 4 })));
      expect(meter.events).toBe(4);
      const small = new WorkMeter("contract", { documents: 0, events: 5 });
      await expect(withWorkMeter(small, () => collect(ctx.store.readStream(streamId)))).rejects.toThrow(
        WorkBudgetExceededError,
      );
    });

    it("yields nothing for a stream that does not exist", async () => {
      const streamId = `${newCategory()}missing`;
      expect(await collect(ctx.store.readStream(streamId))).toEqual([]);
      expect(await collect(ctx.store.readStream(streamId, { direction: "backwards" }))).toEqual([]);
    });

    it("can stop early", async () => {
      const streamId = `${newCategory()}s`;
      await ctx.append(streamId, events(5), "no_stream");
      const seen: number[] = [];
      for await (const event of ctx.store.readStream(streamId)) {
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
        await ctx.append(`${category}a`, [{ type: typeA, data: { i }, metadata: {} }]);
        await ctx.append(`${category}b`, [{ type: typeB, data: { i }, metadata: {} }]);
      }
      for await (const event of ctx.store.readAll({ filter: { streamPrefixes: [category] } }))
        appended.push(event);
      return { category, typeA, typeB, appended };
    }

    it("reads forwards in position order, strictly after `from`, at most maxCount", async () => {
      const { category, appended } = await interleaved(5);
      expect(appended).toHaveLength(10);
      expectIncreasing(appended.map((e) => e.position));
      expect(appended.map((e) => [e.streamId.slice(category.length), (e.data as { i: number }).i])).toEqual([
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
      ]);
      const filter = { streamPrefixes: [category] };
      const from = (appended[2] as RecordedEvent).position;
      const after = await collect(ctx.store.readAll({ filter, from }));
      expect(after.map((e) => e.id)).toEqual(appended.slice(3).map((e) => e.id));
      const limited = await collect(ctx.store.readAll({ filter, from, maxCount: 3 }));
      expect(limited.map((e) => e.id)).toEqual(appended.slice(3, 6).map((e) => e.id));
      const last = (appended[9] as RecordedEvent).position;
      expect(await collect(ctx.store.readAll({ filter, from: last }))).toEqual([]);
    });

    it("reads backwards, strictly before `from`, at most maxCount", async () => {
      const { category, appended } = await interleaved(4);
      const filter = { streamPrefixes: [category] };
      const reversed = [...appended].reverse().map((e) => e.id);
      expect((await collect(ctx.store.readAll({ filter, direction: "backwards" }))).map((e) => e.id)).toEqual(
        reversed,
      );
      const from = (appended[5] as RecordedEvent).position;
      const before = await collect(ctx.store.readAll({ filter, direction: "backwards", from }));
      expect(before.map((e) => e.id)).toEqual(
        appended
          .slice(0, 5)
          .reverse()
          .map((e) => e.id),
      );
      const limited = await collect(ctx.store.readAll({ filter, direction: "backwards", from, maxCount: 2 }));
      expect(limited.map((e) => e.id)).toEqual([appended[4]?.id, appended[3]?.id]);
      const first = (appended[0] as RecordedEvent).position;
      expect(await collect(ctx.store.readAll({ filter, direction: "backwards", from: first }))).toEqual([]);
    });

    it("filters by event types and by stream prefixes", async () => {
      const { category, typeA, typeB, appended } = await interleaved(3);
      const ofA = appended.filter((e) => e.type === typeA).map((e) => e.id);
      expect(ofA).toHaveLength(3);
      expect(
        (await collect(ctx.store.readAll({ filter: { eventTypes: [typeA] } }))).map((e) => e.id),
      ).toEqual(ofA);
      expect(
        (
          await collect(
            ctx.store.readAll({ filter: { eventTypes: [typeA], streamPrefixes: undefined }, maxCount: 2 }),
          )
        ).length,
      ).toBe(2);
      const both = await collect(ctx.store.readAll({ filter: { eventTypes: [typeB, typeA] } }));
      expect(both.map((e) => e.id)).toEqual(appended.map((e) => e.id));
      const backwardsB = await collect(
        ctx.store.readAll({ filter: { eventTypes: [typeB] }, direction: "backwards" }),
      );
      expect(backwardsB.map((e) => e.id)).toEqual(
        appended
          .filter((e) => e.type === typeB)
          .reverse()
          .map((e) => e.id),
      );
      const streamA = await collect(ctx.store.readAll({ filter: { streamPrefixes: [`${category}a`] } }));
      expect(streamA.map((e) => e.id)).toEqual(
        appended.filter((e) => e.streamId === `${category}a`).map((e) => e.id),
      );
      const twoPrefixes = await collect(
        ctx.store.readAll({ filter: { streamPrefixes: [`${category}b`, `${category}a`] } }),
      );
      expect(twoPrefixes.map((e) => e.id)).toEqual(appended.map((e) => e.id));
      const fromSecond = await collect(
        ctx.store.readAll({
          filter: { eventTypes: [typeA, typeB] },
          from: (appended[1] as RecordedEvent).position,
        }),
      );
      expect(fromSecond.map((e) => e.id)).toEqual(appended.slice(2).map((e) => e.id));
    });

    it("an empty filter list selects nothing; both lists at once are refused", async () => {
      const { category } = await interleaved(1);
      expect(await collect(ctx.store.readAll({ filter: { eventTypes: [] } }))).toEqual([]);
      expect(await collect(ctx.store.readAll({ filter: { streamPrefixes: [] } }))).toEqual([]);
      await expect(
        collect(ctx.store.readAll({ filter: { eventTypes: ["X"], streamPrefixes: [category] } })),
      ).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe("headPosition", () => {
    it("is at or after the last appended event", async () => {
      const { position } = await ctx.append(`${newCategory()}s`, events(2));
      const head = await ctx.store.headPosition();
      expect(head).not.toBeNull();
      expect((head as Position).commit).toBeGreaterThanOrEqual(position.commit);
    });
  });
}
