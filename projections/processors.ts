import type { DocumentStore } from "../document-store/port.js";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { CONTROL_CENTER_BOOKS, controlCenterBooks } from "./control-center-books/control-center-books.js";
import { COUPON_POLICY, couponPolicy } from "./coupon-policy/coupon-policy.js";
import { upgradeProjections } from "./lifecycle.js";
import { PAYMENT_SAGA, type PaymentSagaSettings, paymentSaga } from "./payments/payment-saga.js";
import { PROJECTIONS } from "./read-models/index.js";
import { RETENTION, retention } from "./retention/retention.js";
import { DecodedEvents } from "./runtime/decoded-events.js";
import { Leases, processOwner } from "./runtime/leases.js";
import { isReactor, type Processor, type Reactor } from "./runtime/processor.js";
import { ProcessorGroup } from "./runtime/processor-group.js";
import { ProcessorRuntime } from "./runtime/processor-runtime.js";
import { type CommandSender, SCHEDULER, scheduler } from "./scheduler/scheduler.js";
import { WEBHOOK_DELIVERY, webhookDelivery } from "./webhooks/delivery-reactor.js";
import type { DeliverySettings } from "./webhooks/dispatcher.js";

export interface ProcessorSettings {
  /** Where the scheduler sends the facts time brings (without: it keeps its schedule only). */
  readonly sendCommand?: CommandSender;
  /** How webhooks are sent (without: the deliveries are queued, not sent). */
  readonly webhooks?: DeliverySettings;
  /** RETENTION_DAYS: customers whose reservations all ended longer ago are erased (undefined: never). */
  readonly retentionDays?: number;
  /** How often retention looks (an hour by default; tests shorten it). */
  readonly retentionEveryMs?: number;
  /** The payments process manager's provider and way to the lot (PAYMENTS=none: none, it follows nothing). */
  readonly payments?: PaymentSagaSettings;
}

/** A reactor the service runs: its name (known without building it) and how the composition root builds it. */
interface ReactorEntry {
  readonly name: string;
  readonly create: (settings: ProcessorSettings) => Reactor;
}

/** The reactors, in the order they run after the projections. */
const REACTORS: readonly ReactorEntry[] = [
  { name: COUPON_POLICY, create: () => couponPolicy },
  // Issue 48: the control center's books, where the control center as of a moment starts.
  { name: CONTROL_CENTER_BOOKS, create: () => controlCenterBooks() },
  { name: SCHEDULER, create: (s) => scheduler(s.sendCommand ? { send: s.sendCommand } : {}) },
  { name: WEBHOOK_DELIVERY, create: (s) => webhookDelivery(s.webhooks) },
  { name: PAYMENT_SAGA, create: (s) => paymentSaga(s.payments) },
  {
    name: RETENTION,
    create: (s) =>
      retention({
        days: s.retentionDays,
        ...(s.retentionEveryMs === undefined ? {} : { everyMs: s.retentionEveryMs }),
      }),
  },
];

/** Every processor the service runs, built for these settings: the projections, then the reactors. */
export function createProcessors(settings: ProcessorSettings): readonly Processor[] {
  const reactors = REACTORS.map((entry) => {
    const reactor = entry.create(settings);
    // The names below are published before any reactor is built: a reactor named otherwise would
    // get a checkpoint and a lease nothing lists.
    if (reactor.name !== entry.name) throw new Error(`reactor ${entry.name} was built as ${reactor.name}`);
    return reactor;
  });
  return [...PROJECTIONS, ...reactors];
}

/**
 * The processors whose lag changes no answer, only how fast time travel gets there (the control
 * center's books): /readyz does not wait for them, so an upgraded service takes traffic meanwhile.
 */
export const READY_WHILE_BEHIND: ReadonlySet<string> = new Set([CONTROL_CENTER_BOOKS]);

/** The names of every processor, in the order they run: what the control center and `replay status` list. */
export const PROCESSOR_NAMES: readonly string[] = [
  ...PROJECTIONS.map((p) => p.name),
  ...REACTORS.map((r) => r.name),
];
/** The names of the reactors among them (one generation each: they have no read models to rebuild). */
export const REACTOR_NAMES: ReadonlySet<string> = new Set(REACTORS.map((r) => r.name));

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
 * Starts every processor of a role on the runtime, each under a lease (any number of processes
 * may: per processor one works, the others stand by); `stop()` stores the batch in flight and
 * releases the leases.
 */
export async function startProcessors(options: ProcessorsOptions): Promise<ProcessorGroup> {
  const leases = new Leases(options.documentStore, { owner: processOwner(), ...options.lease });
  const processors = createProcessors(options.settings);
  // Each event decoded once between the two runtimes (issue 50), each still on its own subscription.
  const decoded = new DecodedEvents();
  const runtimeOf = (only: readonly Processor[]) =>
    new ProcessorRuntime({
      processors: only,
      eventStore: options.eventStore,
      documentStore: options.documentStore,
      logger: options.logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      batchSize: options.batchSize,
      generation: "active",
      leases,
      decoded,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  // Read models and reactors follow the log on runtimes of their own: a read model's batch never
  // waits for a reactor's effects (ProcessorGroup).
  const group = new ProcessorGroup([
    runtimeOf(processors.filter((p) => !isReactor(p))),
    runtimeOf(processors.filter(isReactor)),
  ]);
  for (const runtime of group.runtimes) await runtime.start();
  // A projection whose live generation another version of its code built is rebuilt blue/green in
  // the background; queries keep reading the live generation until the switch.
  group.track(
    upgradeProjections({
      eventStore: options.eventStore,
      documentStore: options.documentStore,
      projections: PROJECTIONS,
      logger: options.logger.child({ component: "projection-lifecycle" }),
      signal: group.stopping,
    }),
  );
  return group;
}
