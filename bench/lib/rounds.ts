import { describeLoad, type LoadOptions, type LoadResult, mergeLoads, runLoad } from "./load.js";
import { log } from "./log.js";
import { Sample } from "./stats.js";

/** Seconds of one round: a measured load is several, so that a disturbance is spread over all sides. */
export const ROUND_SECONDS = 5;

/** How many rounds make a measured load of about `seconds` (at least one). */
export const roundsOf = (seconds: number) => Math.max(1, Math.round(seconds / ROUND_SECONDS));

/** One side of a measurement in rounds: a server and the POST requests it is sent. */
export interface RoundSide {
  /** The title of its merged result. */
  readonly title: string;
  readonly server: { readonly pid: number; readonly url: string };
  /** Names it in the log line of each round. */
  readonly line: string;
  /** The requests of one round; `run` counts the rounds of every side so far (0, 1, 2, …). */
  readonly requests: (round: number, run: number) => Pick<LoadOptions, "next" | "onBody">;
  /** After each of its rounds (e.g. waits for the read models); what it says ends the round's log line. */
  readonly after?: () => Promise<string | undefined>;
}

/** A side's merged load and its rounds. */
export interface SideLoad {
  readonly load: LoadResult;
  readonly rounds: readonly LoadResult[];
}

/**
 * A POST load in rounds of ROUND_SECONDS on each side in turn, the order rotated every round so
 * that no side always follows the same one and a disturbance on the machine hits all alike; each
 * side's rounds merged into one result.
 */
export async function loadInRounds<K extends string>(
  rounds: number,
  connections: number,
  sides: Record<K, RoundSide>,
): Promise<Record<K, SideLoad>> {
  const keys = Object.keys(sides) as K[];
  const samples = new Map(keys.map((key) => [key, new Sample()]));
  const runs = new Map(keys.map((key) => [key, [] as LoadResult[]]));
  let run = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[(i + r) % keys.length] as K;
      const side = sides[key];
      const all = samples.get(key)!;
      const { pid, url } = side.server;
      const options = { title: key, url, connections, durationSec: ROUND_SECONDS, method: "POST" as const };
      const requests = side.requests(r, run++);
      const result = await runLoad({
        ...options,
        ...requests,
        serverPid: pid,
        onLatency: (ms) => all.add(ms),
      });
      runs.get(key)!.push(result);
      const after = await side.after?.();
      log(`  round ${r + 1} ${side.line}: ${describeLoad(result)}${after ? `; ${after}` : ""}`);
    }
  }
  const merged = keys.map((key) => {
    const rounds = runs.get(key)!;
    return [key, { load: mergeLoads(sides[key].title, rounds, samples.get(key)!), rounds }];
  });
  return Object.fromEntries(merged) as Record<K, SideLoad>;
}
