import { setTimeout as sleep } from "node:timers/promises";
import { bulkLoadThrough } from "../document-store/bulk-load.js";
import type { BulkLoad, DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { Logger } from "../platform/logger.js";
import type { Projection } from "./read-models/projection.js";
import {
  activateOp,
  activeGenerations,
  CHECKPOINTS,
  checkpointId,
  physicalCollection,
} from "./runtime/checkpoints.js";
import { announceSwitch } from "./runtime/generation-switches.js";
import { Leases, processOwner } from "./runtime/leases.js";
import { ProcessorRuntime } from "./runtime/processor-runtime.js";

/** A rebuild of these projections is already running (another process holds their replay lease). */
export class ReplayInProgressError extends Error {
  override name = "ReplayInProgressError";
  constructor(readonly projections: readonly string[]) {
    super(
      `a rebuild of ${projections.join(", ")} is already running; wait for it to finish (replay status shows the generations)`,
    );
  }
}

/** The lease a rebuild of a projection holds: one rebuild of a projection at a time, across processes. */
export const replayLease = (projection: string): string => `replay:${projection}`;
const REPLAY_LEASE = { ttlMs: 30_000, renewMs: 5_000 } as const;

/** Takes every projection's replay lease (all or none) and renews them; `fences` condition the activation. */
async function holdReplayLeases(store: DocumentStore, projections: readonly Projection[]) {
  const leases = new Leases(store, { owner: processOwner(), ...REPLAY_LEASE });
  const held = new Map<string, number>();
  for (const projection of projections) {
    const epoch = await leases.attempt(replayLease(projection.name), null);
    if (epoch === null) {
      for (const [name, e] of held) await leases.release(name, e).catch(() => undefined);
      throw new ReplayInProgressError([projection.name]);
    }
    held.set(replayLease(projection.name), epoch);
  }
  let lost = false;
  const timer = setInterval(() => {
    for (const [name, epoch] of held)
      void leases.attempt(name, epoch).then(
        (renewed) => {
          if (renewed === null) lost = true;
        },
        () => undefined, // the store is down: the fence decides at activation
      );
  }, REPLAY_LEASE.renewMs);
  timer.unref();
  return {
    lost: () => lost,
    fences: () => [...held].map(([name, epoch]) => leases.fence(name, epoch)),
    async release() {
      clearInterval(timer);
      for (const [name, epoch] of held) await leases.release(name, epoch).catch(() => undefined);
    },
  };
}

/** Events per batch of a rebuild: a batch writes each document it touches once, so larger is fewer writes. */
export const REBUILD_BATCH_SIZE = 10_000;

/** Longer than the views' cache of active generations (GENERATION_TTL_MS), with margin. */
export const MIN_GRACE_MS = 1000;

export interface ReplayProgress {
  readonly position: number;
  readonly head: number;
  readonly eventsPerSecond: number;
  readonly elapsedMs: number;
}

export interface ReplayOptions {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly projections: readonly Projection[];
  readonly logger: Logger;
  /** Events per batch (default REBUILD_BATCH_SIZE). */
  readonly batchSize?: number;
  /** How long old collections stay after the swap, for queries that resolved them just before. */
  readonly graceMs: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly progressIntervalMs?: number;
}

export interface ReplayResult {
  readonly generations: Record<string, { readonly from: number; readonly to: number }>;
  readonly position: Position | null;
  readonly elapsedMs: number;
}

/**
 * Rebuilds projections from the whole history into their next generation and activates it in one
 * write once caught up; queries read the old one until then, the live projector carries on from
 * the new one's checkpoint, and the old collections go after a grace period.
 */
export async function rebuildProjections(options: ReplayOptions): Promise<ReplayResult> {
  const { documentStore, projections } = options;
  // A second rebuild is refused, never let loose on the first's half-built generation.
  const leases = await holdReplayLeases(documentStore, projections);
  try {
    return await rebuild(options, leases);
  } finally {
    await leases.release();
  }
}

async function rebuild(
  options: ReplayOptions,
  leases: Awaited<ReturnType<typeof holdReplayLeases>>,
): Promise<ReplayResult> {
  const { documentStore, eventStore, projections, logger } = options;
  const started = Date.now();
  const active = await activeGenerations(documentStore);
  const plan = new Map(
    projections.map((p) => [p.name, { from: active.get(p.name) ?? 1, to: (active.get(p.name) ?? 1) + 1 }]),
  );

  // A previous replay that died may have left a half-built generation: start it from nothing.
  for (const projection of projections)
    await dropGeneration(documentStore, projection, plan.get(projection.name)!.to);

  // A bulk load, its indexes built once at the end.
  const load = bulkLoadThrough(documentStore);
  let position: Position | null = null;
  try {
    const projector = new ProcessorRuntime({
      processors: projections,
      eventStore,
      documentStore: load,
      logger,
      batchSize: options.batchSize ?? REBUILD_BATCH_SIZE,
      generation: new Map([...plan].map(([name, g]) => [name, g.to])),
      deferIndexes: true,
    });
    await projector.start();
    try {
      await followUntilCaughtUp(projector, load, options, started);
    } finally {
      await projector.stop();
    }
    // Every batch stored (with its checkpoint) before the indexes and the switch.
    await load.flush();
    // Indexes after the bulk load: one sort per index instead of maintaining each on every insert.
    logger.info("caught up; building indexes before activation");
    await projector.createIndexes();
    position = projector.status()[0]?.position ?? null;
  } finally {
    await load.close();
  }
  if (leases.lost()) throw new Error("the replay lease was lost (paused past its ttl): nothing activated");
  await documentStore.write([...leases.fences(), ...[...plan].map(([name, g]) => activateOp(name, g.to))]);
  logger.info({ generations: Object.fromEntries(plan) }, "rebuilt generations are active");
  announceSwitch(Object.fromEntries(plan));

  // Queries cache the active generation briefly; never drop what one of them may still be reading.
  await sleep(Math.max(options.graceMs, MIN_GRACE_MS));
  for (const projection of projections)
    await dropGeneration(documentStore, projection, plan.get(projection.name)!.from);
  return { generations: Object.fromEntries(plan), position, elapsedMs: Date.now() - started };
}

/** Reports progress until every projection has caught up; throws if one failed or the load did. */
async function followUntilCaughtUp(
  projector: ProcessorRuntime,
  load: BulkLoad,
  options: ReplayOptions,
  started: number,
): Promise<void> {
  const lowest = () => {
    const positions = projector.status().map((s) => s.position?.commit ?? 0);
    return positions.length === 0 ? 0 : Math.min(...positions);
  };
  let lastReport = { at: Date.now(), position: 0 };
  for (;;) {
    const failed = projector.status().find((s) => s.state === "failed");
    if (failed) throw new Error(`projection ${failed.name} failed during the rebuild: ${failed.error}`);
    const refused = load.failed();
    if (refused)
      throw new Error(`the rebuilt generation could not be stored: ${refused.message}`, { cause: refused });
    const head = (await options.eventStore.headPosition())?.commit ?? 0;
    const position = lowest();
    const now = Date.now();
    const rate = ((position - lastReport.position) * 1000) / Math.max(1, now - lastReport.at);
    options.onProgress?.({ position, head, eventsPerSecond: rate, elapsedMs: now - started });
    lastReport = { at: now, position };
    // Done once the store has reported "caught up" to every projection and all before it is
    // stored: never waiting for a position that no event of their types will ever reach.
    if (projector.status().every((s) => s.caughtUp)) return;
    await sleep(options.progressIntervalMs ?? 1000);
  }
}

/** Drops one generation of a projection: its collections and its checkpoint. */
async function dropGeneration(
  store: DocumentStore,
  projection: Projection,
  generation: number,
): Promise<void> {
  for (const logical of Object.keys(projection.collections))
    await store.dropCollection(physicalCollection(logical, generation));
  await store.write([
    { op: "delete", collection: CHECKPOINTS, id: checkpointId(projection.name, generation) },
  ]);
}
