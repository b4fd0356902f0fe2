import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { couponPolicy } from "./coupon-policy/coupon-policy.js";
import { PROJECTIONS } from "./read-models/index.js";
import type { Processor } from "./runtime/processor.js";
import { ProcessorRuntime } from "./runtime/processor-runtime.js";

/** Every processor the service runs: the read-model projections, then the reactors. */
export const PROCESSORS: readonly Processor[] = [...PROJECTIONS, couponPolicy];

export interface ProcessorsOptions {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly batchSize: number;
}

/**
 * The single entry point that starts every processor of a role (projector, or all-in-one) on the
 * processor runtime, following the active generations. Resolves once they are subscribed;
 * `stop()` on the result finishes the batch in flight and stores its checkpoints.
 */
export async function startProcessors(options: ProcessorsOptions): Promise<ProcessorRuntime> {
  const runtime = new ProcessorRuntime({
    processors: PROCESSORS,
    eventStore: options.eventStore,
    documentStore: options.documentStore,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    batchSize: options.batchSize,
    generation: "active",
  });
  await runtime.start();
  return runtime;
}
