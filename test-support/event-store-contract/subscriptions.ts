import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { EventStore, LogMessage, RecordedEvent } from "../../event-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";
import {
  type ContractContext,
  collect,
  events,
  eventually,
  expectIncreasing,
  newCategory,
} from "./support.js";

/** subscribeToAll and followAll: catch-up, live, filters, progress. */
export function subscriptionContract(ctx: ContractContext): void {
  describe("subscribeToAll", () => {
    it("catches up from the start, then delivers live events", async () => {
      const category = newCategory();
      await ctx.append(`${category}a`, events(3));
      await ctx.append(`${category}b`, events(2));
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
      );
      await eventually(() => recording.events.length >= 5, "catch-up");
      await ctx.append(`${category}a`, events(2));
      await ctx.append(`${category}c`, events(1));
      await eventually(() => recording.events.length >= 8, "live events");
      const stored = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      await sleep(50);
      expect(recording.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      expect(recording.events[7]).toEqual(stored[7]);
      expect(recording.error).toBeUndefined();
      expect(recording.completed).toBe(false);
    });

    it("starts strictly after a given position", async () => {
      const category = newCategory();
      await ctx.append(`${category}a`, events(5));
      const stored = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      const from = (stored[1] as RecordedEvent).position;
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from, filter: { streamPrefixes: [category] } }),
      );
      await eventually(() => recording.events.length >= 3, "events after the position");
      await ctx.append(`${category}b`, events(1));
      await eventually(() => recording.events.length >= 4, "a live event");
      await sleep(50);
      expect(recording.events.map((e) => e.revision)).toEqual([2, 3, 4, 0]);
      expect(recording.events.slice(0, 3).map((e) => e.id)).toEqual(stored.slice(2).map((e) => e.id));
    });

    it('"end" delivers only what is appended afterwards', async () => {
      const category = newCategory();
      await ctx.append(`${category}old`, events(3));
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "end", filter: { streamPrefixes: [category] } }),
      );
      await ctx.untilLive(recording, `${category}probe`);
      await ctx.append(`${category}new`, events(2));
      await eventually(
        () => recording.events.filter((e) => e.streamId === `${category}new`).length >= 2,
        "new",
      );
      expect(recording.events.filter((e) => e.streamId === `${category}old`)).toEqual([]);
      expect(recording.events.filter((e) => e.streamId === `${category}new`).map((e) => e.revision)).toEqual([
        0, 1,
      ]);
    });

    it("filters by event types", async () => {
      const category = newCategory();
      const wanted = `W${randomUUID().replaceAll("-", "")}`;
      await ctx.append(`${category}a`, [
        { type: wanted, data: { n: 1 }, metadata: {} },
        { type: "Other", data: {}, metadata: {} },
      ]);
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "start", filter: { eventTypes: [wanted] } }),
      );
      await eventually(() => recording.events.length >= 1, "catch-up");
      await ctx.append(`${category}b`, [
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
      for (let i = 0; i < 30; i++) await ctx.append(streams[i % 3] as string, events(5));
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
      );
      const racing = (async () => {
        for (let i = 0; i < 60; i++) {
          await ctx.append(streams[i % 3] as string, events(1 + (i % 3)));
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
      const stored = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
      expect(recording.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    });

    it("stops delivering once unsubscribed", async () => {
      const category = newCategory();
      await ctx.append(`${category}a`, events(1));
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
      );
      await eventually(() => recording.events.length >= 1, "the first event");
      recording.subscription?.unsubscribe();
      await ctx.append(`${category}a`, events(3));
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
      ctx.keep(
        ctx.store.followAll(options).subscribe({
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
      await ctx.append(`${category}a`, [{ type: wanted, data: { n: 1 }, metadata: {} }]);
      const { position: last } = await ctx.append(`${category}b`, [
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
      await ctx.append(`${category}a`, events(2));
      const followed = follow({ from: "start", filter: { eventTypes: [wanted] } });
      await eventually(() => followed.messages.some((m) => m.kind === "caught-up"), "caught up");
      for (let i = 0; i < 5; i++)
        await ctx.append(`${category}b`, [
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
}
