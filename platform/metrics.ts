import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of one process. A registry per instance (not the global one), so tests can
 * build many apps in one process without name clashes.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly commands = new Counter({
    name: "parking_commands_total",
    help: "Commands handled, by command and outcome (accepted, duplicate, rejected reason, error).",
    labelNames: ["command", "outcome"] as const,
    registers: [this.registry],
  });

  readonly commandDuration = new Histogram({
    name: "parking_command_duration_seconds",
    help: "Time from receiving a command to its answer, by command and outcome.",
    labelNames: ["command", "outcome"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly concurrencyRetries = new Counter({
    name: "parking_command_concurrency_retries_total",
    help: "Optimistic-concurrency conflicts that made a command reload its lot and decide again.",
    labelNames: ["command"] as const,
    registers: [this.registry],
  });

  readonly commandsInFlight = new Gauge({
    name: "parking_commands_in_flight",
    help: "Commands being processed right now (bounded by MAX_INFLIGHT_COMMANDS).",
    registers: [this.registry],
  });

  readonly overloadRejections = new Counter({
    name: "parking_overload_rejections_total",
    help: "Requests answered 503 at once because the write path was at its in-flight bound.",
    registers: [this.registry],
  });

  readonly projectionPosition = new Gauge({
    name: "parking_projection_position",
    help: "Last global position each processor (projection or reactor such as the coupon policy) has handled or passed.",
    labelNames: ["projection"] as const,
    registers: [this.registry],
  });

  readonly projectionLag = new Gauge({
    name: "parking_projection_lag",
    help: "Head of the log minus the position applied, per projection.",
    labelNames: ["projection"] as const,
    registers: [this.registry],
  });

  readonly projectionEvents = new Counter({
    name: "parking_projection_events_total",
    help: "Events applied, per projection.",
    labelNames: ["projection"] as const,
    registers: [this.registry],
  });

  readonly projectionBatchDuration = new Histogram({
    name: "parking_projection_batch_duration_seconds",
    help: "Time to apply one batch of events and its checkpoint.",
    labelNames: ["projector"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly projectionFailures = new Counter({
    name: "parking_projection_failures_total",
    help: "Times a processor stopped on an event it could not handle, or its subscription dropped.",
    labelNames: ["projection", "kind"] as const,
    registers: [this.registry],
  });

  readonly couponActions = new Counter({
    name: "parking_coupon_policy_actions_total",
    help: "Coupon policy effects, by action (issued, revoked, already-done).",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  readonly scheduledFacts = new Counter({
    name: "parking_scheduler_facts_total",
    help: "Time-driven facts the scheduler sent, by fact (RecordNoShow, BeginClosure) and outcome (recorded, not-due, gone).",
    labelNames: ["fact", "outcome"] as const,
    registers: [this.registry],
  });

  readonly lotLoads = new Counter({
    name: "parking_lot_loads_total",
    help: "Lots the write side loaded from the event store (not in its cache), by what became of the lot's snapshot: used, none, unavailable, other-version, undecodable, not-in-stream.",
    labelNames: ["snapshot"] as const,
    registers: [this.registry],
  });

  readonly lotSnapshots = new Counter({
    name: "parking_lot_snapshots_total",
    help: "Lot snapshots the snapshotter made, by outcome: written, superseded (a newer one was there), failed.",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly reservationVisibleLag = new Histogram({
    name: "parking_reservation_visible_lag_seconds",
    help: "From a reservation's acknowledged append to its commit in the reservations read model (ack → visible), per reservation.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
