import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { lotSnapshotter } from "../write-side/parking-lot/lot-snapshotter.js";
import { couponPolicy } from "./coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "./read-models/index.js";
import { Leases, processOwner } from "./runtime/leases.js";
import { isReactor, type Processor } from "./runtime/processor.js";
import { ProcessorRuntime } from "./runtime/processor-runtime.js";
import { type CommandSender, scheduler } from "./scheduler/scheduler.js";

export interface ProcessorSettings {
  /** The lot snapshotter snapshots a lot every this many events of its stream (0: never). */
  readonly lotSnapshotEvery: number;
  /** Where the scheduler sends the facts time brings (without: it keeps its schedule only). */
  readonly sendCommand?: CommandSender;
}

/** Every processor the service runs: the read-model projections, then the reactors. */
export const createProcessors = (settings: ProcessorSettings): readonly Processor[] => [
  ...PROJECTIONS,
  couponPolicy,
  lotSnapshotter({ every: settings.lotSnapshotEvery }),
  scheduler(settings.sendCommand ? { send: settings.sendCommand } : {}),
];

const LISTED = createProcessors({ lotSnapshotEvery: 0 });
/** The names of every processor, in the order they run: what the control center and `replay status` list. */
export const PROCESSOR_NAMES: readonly string[] = LISTED.map((p) => p.name);
/** The names of the reactors among them (one generation each: they have no read models to rebuild). */
export const REACTOR_NAMES: ReadonlySet<string> = new Set(LISTED.filter(isReactor).map((p) => p.name));

export interface ProcessorsOptions {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly batchSize: number;
  readonly settings: ProcessorSettings;
  /** Lease timing (several projector processes: one works per processor, the others stand by). */
  readonly lease: { readonly ttlMs: number; readonly renewMs: number };
  /** What time it is for the reactors (the scheduler): the system clock unless a test drives it. */
  readonly clock?: () => number;
}

/**
 * The single entry point that starts every processor of a role (projector, or all-in-one) on the
 * processor runtime, following the active generations, each under a lease in the document store:
 * any number of processes may call this on the same stores; per processor one works and the others
 * stand by to take over. Resolves once started; `stop()` on the result finishes the batch in
 * flight, stores its checkpoints and releases the leases.
 */
export async function startProcessors(options: ProcessorsOptions): Promise<ProcessorRuntime> {
  const runtime = new ProcessorRuntime({
    processors: createProcessors(options.settings),
    eventStore: options.eventStore,
    documentStore: options.documentStore,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    batchSize: options.batchSize,
    generation: "active",
    leases: new Leases(options.documentStore, { owner: processOwner(), ...options.lease }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await runtime.start();
  return runtime;
}
