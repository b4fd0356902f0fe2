import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What an event-loop watch reports: the longest delay since the last call, and the stalls so far. */
export interface EventLoopStats {
  delayMaxSeconds(): number;
  stalls(): number;
}

/**
 * Prometheus metrics of one process. A registry per instance (not the global one), so tests can
 * build many apps in one process without name clashes.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly commands = this.counter(
    "parking_commands_total",
    "Commands handled, by command and outcome (accepted, duplicate, rejected reason, error).",
    ["command", "outcome"],
  );

  readonly commandDuration = this.histogram(
    "parking_command_duration_seconds",
    "Time from receiving a command to its answer, by command and outcome.",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ["command", "outcome"],
  );

  readonly concurrencyRetries = this.counter(
    "parking_command_concurrency_retries_total",
    "Optimistic-concurrency conflicts that made a command reload its lot and decide again.",
    ["command"],
  );

  readonly commandsInFlight = this.gauge(
    "parking_commands_in_flight",
    "Commands being processed right now (bounded by MAX_INFLIGHT_COMMANDS).",
  );

  readonly overloadRejections = this.counter(
    "parking_overload_rejections_total",
    "Requests answered 503 at once because the write path was at its in-flight bound.",
  );

  readonly heavyReadsInFlight = this.gauge(
    "parking_heavy_reads_in_flight",
    "Expensive reads being computed right now, per endpoint and kind of caller (bounded by HEAVY_READ_CONCURRENCY and HEAVY_READ_ANONYMOUS_CONCURRENCY).",
    ["endpoint", "caller"],
  );

  readonly heavyReadsQueued = this.gauge(
    "parking_heavy_reads_queued",
    "Expensive reads waiting for their turn, per endpoint and kind of caller (bounded by HEAVY_READ_QUEUE and HEAVY_READ_ANONYMOUS_QUEUE).",
    ["endpoint", "caller"],
  );

  readonly heavyReads = this.counter(
    "parking_heavy_reads_total",
    "Expensive reads by what became of them: admitted, full (503: queue full), waited-too-long (503: no turn within HEAVY_READ_MAX_WAIT_MS), left (the client went away while it waited: never computed).",
    ["endpoint", "caller", "outcome"],
  );

  readonly examined = this.counter(
    "parking_request_examined_total",
    "What the expensive reads examined in the stores, per operation and kind (documents, events): each request's work budget counts it.",
    ["operation", "kind"],
  );

  readonly workBudgetRefusals = this.counter(
    "parking_work_budget_refusals_total",
    "Requests ended past their work budget (503, or 400 naming `limit`), per operation and kind.",
    ["operation", "kind"],
  );

  /** What one request examined, once it is answered. */
  observeExamined(meter: {
    operation: string;
    documents: number;
    events: number;
    exceeded: "documents" | "events" | undefined;
  }): void {
    this.examined.inc({ operation: meter.operation, kind: "documents" }, meter.documents);
    this.examined.inc({ operation: meter.operation, kind: "events" }, meter.events);
    if (meter.exceeded) this.workBudgetRefusals.inc({ operation: meter.operation, kind: meter.exceeded });
  }

  readonly projectionPosition = this.gauge(
    "parking_projection_position",
    "Last global position each processor (projection or reactor such as the coupon policy) has handled or passed.",
    ["projection"],
  );

  readonly projectionLag = this.gauge(
    "parking_projection_lag",
    "Head of the log minus the position applied, per projection.",
    ["projection"],
  );

  readonly projectionEvents = this.counter(
    "parking_projection_events_total",
    "Events applied, per projection.",
    ["projection"],
  );

  readonly projectionBatchDuration = this.histogram(
    "parking_projection_batch_duration_seconds",
    "Time to apply one batch of events and its checkpoint.",
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    ["projector"],
  );

  readonly projectionFailures = this.counter(
    "parking_projection_failures_total",
    "Times a processor stopped on an event it could not handle, or its subscription dropped.",
    ["projection", "kind"],
  );

  readonly couponActions = this.counter(
    "parking_coupon_policy_actions_total",
    "Coupon policy effects, by action (issued, revoked, returned, already-done, nothing-to-revoke).",
    ["action"],
  );

  readonly scheduledFacts = this.counter(
    "parking_scheduler_facts_total",
    "Time-driven facts the scheduler sent, by fact (RecordNoShow, BeginClosure, CancelForClosure, ExpirePaymentHold) and outcome (recorded, not-due, gone).",
    ["fact", "outcome"],
  );

  readonly paymentPlans = this.counter(
    "parking_payment_plans_total",
    "Payment steps the payments process manager carried out (kind: authorize, void, end, forget for a plan; next for a due booking's steps off its payment stream), by outcome: done (every outcome recorded), retry (the provider or a store was out).",
    ["kind", "outcome"],
  );

  readonly paymentIntentsReleased = this.counter(
    "parking_payment_intents_released_total",
    "Intents canceled at the payment provider because no booking counted on them, as the payments process manager read the PaymentIntentReleased facts, by why: booking-ended (canceled, expired or declined unpaid), authorization-refused (an authorization its booking did not take: no longer waiting for it, or not its intent, amount or currency), reconciliation (found open by the hourly reconciliation or `replay reconcile-holds`).",
    ["because"],
  );

  readonly paymentRepairs = this.counter(
    "parking_payment_reconciliation_repairs_total",
    "What the payment provider did that a payment missed, recorded by the reconciliation, by repair: authorized (an authorization whose word was lost while its booking waited), captured (a capture applied though it was recorded failed), released (the rest of that hold, let go by the provider).",
    ["repair"],
  );

  readonly paymentWebhooksIgnored = this.counter(
    "parking_payment_webhooks_ignored_total",
    "Signed payment-provider webhooks that changed no booking, by reason: intent (not the intent the booking recorded), amount (an authorization short of the booking's amount), currency (not the lot's), not-pending (the booking no longer waits for its payment), unknown (no such booking).",
    ["reason"],
  );

  readonly paymentLedgerViolations = this.gauge(
    "parking_payment_ledger_violations",
    "Reservations whose money ledger breaks an invariant (authorized = captured + released once settled, nothing captured or released beyond the authorization, refunds within captures), as the payments process manager's lease holder last counted them; 0 elsewhere and with PAYMENTS=none.",
  );

  readonly reservationVisibleLag = this.histogram(
    "parking_reservation_visible_lag_seconds",
    "From a reservation's acknowledged append to its commit in the reservations read model (ack → visible), per reservation.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );

  readonly storageUnavailable = this.gauge(
    "parking_storage_unavailable",
    "1 while a store of this process cannot write because its disk is full or read-only (by store and reason), else 0.",
    ["store", "reason"],
  );

  readonly storageFailures = this.counter(
    "parking_storage_failures_total",
    "Writes refused because the disk under a store was full or read-only, by store and reason.",
    ["store", "reason"],
  );

  /** What time travel keeps, read at each scrape (see watchTimeTravel). */
  private timeTravelStats: (() => Readonly<Record<string, number>>) | undefined;

  readonly timeTravelCheckpoints: Gauge<"kind"> = new Gauge({
    name: "parking_time_travel_checkpoints",
    help: "What time travel keeps in memory to answer asOf: the estimated bytes of the lots' decider states kept as of the last moment asked (bytes; state_bytes the same, its part that is lot states).",
    labelNames: ["kind"],
    registers: [this.registry],
    collect: () => {
      const stats = this.timeTravelStats?.();
      if (stats) for (const [kind, n] of Object.entries(stats)) this.timeTravelCheckpoints.set({ kind }, n);
    },
  });

  /** Reports what time travel keeps (its lots' states) at each scrape. */
  watchTimeTravel(stats: () => Readonly<Record<string, number>>): void {
    this.timeTravelStats = stats;
  }

  /** What the event-loop watch measures, read at each scrape (see watchEventLoop). */
  private eventLoop: EventLoopStats | undefined;

  readonly eventLoopDelayMax: Gauge = new Gauge({
    name: "parking_event_loop_delay_max_seconds",
    help: "Longest event-loop delay of the request thread since the previous scrape (monitorEventLoopDelay): how long the thread was kept from answering. Past EVENT_LOOP_STALL_MS it is a stall.",
    registers: [this.registry],
    collect: () => {
      if (this.eventLoop) this.eventLoopDelayMax.set(this.eventLoop.delayMaxSeconds());
    },
  });

  readonly eventLoopStalls: Counter = new Counter({
    name: "parking_event_loop_stalls_total",
    help: "Times a thread's event loop was blocked past EVENT_LOOP_STALL_MS: seen when the loop came back (the process then reports itself not alive on /healthz), or by the watchdog thread while it was still blocked (which then ends the process: the count ends with it, the orchestrator's restart count keeps it).",
    registers: [this.registry],
    collect: () => {
      if (!this.eventLoop) return;
      this.eventLoopStalls.reset();
      this.eventLoopStalls.inc(this.eventLoop.stalls());
    },
  });

  /** Reports the request thread's event-loop delay and stalls (an EventLoopWatch) at each scrape. */
  watchEventLoop(stats: EventLoopStats): void {
    this.eventLoop = stats;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
