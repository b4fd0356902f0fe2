/**
 * Child-process fixture for the embedded store's multi-process tests (not used in production).
 *
 *   node --import tsx append-fixture.ts <mode> <file> <streamId> [count]
 *
 * Modes:
 * - `loop`: append one event at a time forever, each expecting the previous revision;
 * - `burst`: append `count` events, one at a time, expecting "any";
 * - `contend`: append `count` events one at a time, each expecting the stream's current last
 *   revision, re-reading it and retrying after every WrongExpectedRevisionError.
 * After each acknowledged append it prints `ack <revision> <position> <eventId>` on stdout
 * (synchronous on Linux pipes, so a printed ack was committed before the line left the process).
 */
import { WrongExpectedRevisionError } from "../errors.js";
import type { ExpectedRevision } from "../port.js";
import { SqliteEventStore } from "./sqlite-event-store.js";

const [mode, file, streamId, countArg] = process.argv.slice(2);
if (mode === undefined || file === undefined || streamId === undefined) {
  process.stderr.write("usage: append-fixture.ts <loop|burst|contend> <file> <streamId> [count]\n");
  process.exit(2);
}
const count = countArg === undefined ? Number.POSITIVE_INFINITY : Number(countArg);
const store = SqliteEventStore.open({ file });

async function lastRevision(): Promise<ExpectedRevision> {
  for await (const event of store.readStream(streamId as string, { direction: "backwards", maxCount: 1 })) {
    return event.revision;
  }
  return "no_stream";
}

let expected: ExpectedRevision = mode === "burst" ? "any" : await lastRevision();
for (let acked = 0; acked < count; ) {
  const id = crypto.randomUUID();
  try {
    const result = await store.appendToStream(
      streamId,
      [
        {
          id,
          type: "FixtureAppended",
          data: { pid: process.pid, n: acked, plate: "10더8612" },
          metadata: { mode },
        },
      ],
      { expectedRevision: expected },
    );
    process.stdout.write(`ack ${result.nextExpectedRevision} ${result.position.commit} ${id}\n`);
    acked++;
    if (mode !== "burst") expected = result.nextExpectedRevision;
  } catch (error) {
    if (mode === "contend" && error instanceof WrongExpectedRevisionError) {
      expected = await lastRevision();
      continue;
    }
    throw error;
  }
}
await store.close();
