import { describe, expect, it } from "vitest";
import { LogTail, type TailRow } from "./pg-live.js";

/** A log of `n` gapless positions, read as the store reads it, counting the reads. */
function logOf(n: number) {
  const reads: [number, number, number][] = [];
  const row = (position: number): TailRow => ({
    position,
    streamId: `s-${position % 3}`,
    revision: position,
    id: `id-${position}`,
    type: "T",
    data: "{}",
    metadata: "{}",
    createdAt: new Date(0),
  });
  const log = {
    head: n,
    reads,
    read: async (after: number, upTo: number, limit: number) => {
      reads.push([after, upTo, limit]);
      const out: TailRow[] = [];
      for (let p = after + 1; p <= Math.min(upTo, log.head) && out.length < limit; p++) out.push(row(p));
      return out;
    },
  };
  return log;
}

const positions = (rows: readonly TailRow[] | undefined) => rows?.map((r) => r.position);

describe("the shared tail of the PostgreSQL log", () => {
  it("reads the log's new events once for every follower at the head", async () => {
    const log = logOf(10);
    const tail = new LogTail(log.read);
    expect(positions(await tail.slice(10, 10, 1000))).toEqual([]);
    log.head = 13;
    const [a, b] = await Promise.all([tail.slice(10, 13, 1000), tail.slice(10, 13, 1000)]);
    expect(positions(a)).toEqual([11, 12, 13]);
    expect(positions(b)).toEqual([11, 12, 13]);
    expect(positions(await tail.slice(12, 13, 1000))).toEqual([13]);
    expect(log.reads).toEqual([[10, 13, 4096]]);
  });

  it("sends a follower older than what it keeps to the database, and never serves a gap", async () => {
    const log = logOf(10);
    const tail = new LogTail(log.read);
    await tail.slice(5, 10, 1000);
    expect(await tail.slice(2, 10, 1000)).toBeUndefined();
    expect(positions(await tail.slice(7, 9, 1))).toEqual([8]);
    // The log does not read as contiguous (a promoted standby that lost commits): nothing served.
    log.head = 11;
    const gap = new LogTail(async () => [{ ...((await log.read(10, 11, 1))[0] as TailRow), position: 12 }]);
    await gap.slice(10, 10, 1000);
    expect(await gap.slice(10, 11, 1000)).toBeUndefined();
  });

  it("keeps at most 4,096 events, the latest", async () => {
    const log = logOf(10_000);
    const tail = new LogTail(log.read);
    await tail.slice(0, 0, 1000);
    for (let at = 0; at < 10_000; at += 1000)
      expect(positions(await tail.slice(at, 10_000, 1000))?.length).toBe(1000);
    expect(await tail.slice(5000, 10_000, 10)).toBeUndefined();
    expect(positions(await tail.slice(9990, 10_000, 3))).toEqual([9991, 9992, 9993]);
  });
});
