/**
 * Our own position in the global log. EventStoreDB hands out bigint commit/prepare positions;
 * adapters translate them to this at the edge so nothing else sees a bigint (which JSON cannot
 * carry). Safe integers are enough for 9 PB of log.
 */
export interface Position {
  readonly commit: number;
  readonly prepare: number;
}

export const comparePositions = (a: Position, b: Position): number =>
  a.commit - b.commit || a.prepare - b.prepare;

export const isAfter = (a: Position, b: Position): boolean => comparePositions(a, b) > 0;

/**
 * An event's place in log order, one number unique to it: its prepare position. EventStoreDB
 * reports every event of one append (a batch of commands decided together: decider-runner.ts) at
 * the append's commit position, told apart only by their prepare positions; a list paged "below
 * this commit" would skip the rest of a batch. On the embedded log the two are the same number.
 */
export const logOrderOf = (p: Position): number => p.prepare;

/** The token clients see (responses, `minPosition` query parameters): the commit position in decimal. */
export const formatPosition = (p: Position): string => String(p.commit);

/** Parses a client token back into the lowest position with that commit (for "at least" comparisons). */
export function parsePositionToken(token: string): Position | null {
  if (!/^[0-9]{1,16}$/.test(token)) return null;
  const commit = Number(token);
  return Number.isSafeInteger(commit) ? { commit, prepare: 0 } : null;
}

/** Whether a view that applied everything up to `applied` shows the effect of the event at `wanted`. */
export const reached = (applied: Position | null, wanted: Position): boolean =>
  applied !== null && applied.commit >= wanted.commit;

export function fromBigInt(commit: bigint, prepare: bigint): Position {
  if (commit > BigInt(Number.MAX_SAFE_INTEGER) || prepare > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`log position ${commit}/${prepare} exceeds the safe integer range`);
  }
  return { commit: Number(commit), prepare: Number(prepare) };
}
