import { v5 as uuidv5 } from "uuid";
import type { DocumentStore } from "../../document-store/port.js";
import { decodeEvent, encodeEvent, type StoredDomainEvent } from "../../event-store/codec.js";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { isAfter, type Position } from "../../event-store/position.js";
import type { Logger } from "../../platform/logger.js";
import type { Metrics } from "../../platform/metrics.js";
import { systemActor } from "../../schemas/actor.js";
import type { DomainEvent } from "../../schemas/events.js";
import { checkpointOp, readCheckpoint } from "../runtime/checkpoints.js";
import { SubscriptionLoop } from "../runtime/subscription-loop.js";

export const COUPON_POLICY = "coupon-policy";
const GENERATION = 1;
const COUPON_NAMESPACE = "0b8f6c1e-5d0a-4f57-b1a4-7c2e9d3f8a60";

export const couponStream = (reservationId: string): string => `coupon-${reservationId}`;

/** The coupon policy acts on its own account: its events record it as a system actor. */
const COUPON_POLICY_ACTOR = systemActor("coupon-policy");

/** Deterministic, so a retried issue names the same coupon. */
export const couponIdFor = (reservationId: string): string => uuidv5(reservationId, COUPON_NAMESPACE);

export interface CouponPolicyOptions {
  readonly eventStore: EventStore;
  readonly documentStore: DocumentStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly batchSize: number;
}

/**
 * The coupon policy: an asynchronous reactor. For each ParkingReserved it issues the coupon, for
 * each ReservationCanceled it revokes the coupon that was issued, each into the stream
 * `coupon-{reservationId}`. Effects are idempotent through the stream's expected revision
 * (issue expects no stream, revoke expects exactly the issue), so replaying a batch after a
 * crash never duplicates anything; its checkpoint only moves past events it has handled.
 */
export class CouponPolicy {
  private loop: SubscriptionLoop | undefined;
  private position: Position | null = null;

  constructor(private readonly options: CouponPolicyOptions) {}

  async start(): Promise<void> {
    const checkpoint = await readCheckpoint(this.options.documentStore, COUPON_POLICY, GENERATION);
    this.position = checkpoint?.position ?? null;
    this.loop = new SubscriptionLoop({
      name: COUPON_POLICY,
      eventStore: this.options.eventStore,
      // No filter: the checkpoint then follows the head of the log (coupon events included), so
      // its lag reads 0 when there is nothing left to do.
      logger: this.options.logger,
      batchSize: this.options.batchSize,
      flushMs: 2,
      maxPending: this.options.batchSize * 20,
      resumeFrom: async () => this.position ?? "start",
      handleBatch: (batch) => this.handleBatch(batch),
      onDrop: () =>
        this.options.metrics?.projectionFailures.inc({ projection: COUPON_POLICY, kind: "dropped" }),
    });
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = undefined;
  }

  get checkpoint(): Position | null {
    return this.position;
  }

  private async handleBatch(batch: readonly RecordedEvent[]): Promise<void> {
    // Coupon streams are independent per reservation: handle different reservations at once (the
    // store commits their appends together) and each reservation's own events in log order.
    const byReservation = new Map<string, StoredDomainEvent[]>();
    let last: Position | null = null;
    for (const record of batch) {
      if (this.position && !isAfter(record.position, this.position)) continue; // handled before a restart
      last = record.position;
      if (record.type !== "ParkingReserved" && record.type !== "ReservationCanceled") continue;
      const stored = decodeEvent(record);
      const reservationId = (stored.event.data as { reservationId: string }).reservationId;
      const queue = byReservation.get(reservationId);
      if (queue) queue.push(stored);
      else byReservation.set(reservationId, [stored]);
    }
    await Promise.all(
      [...byReservation.values()].map(async (events) => {
        for (const stored of events) await this.handle(stored);
      }),
    );
    // Only once every effect of the batch is stored does the checkpoint move past it.
    if (last) this.position = last;
    if (this.position) {
      await this.options.documentStore.write([
        checkpointOp(COUPON_POLICY, GENERATION, { position: this.position, state: "running" }),
      ]);
      this.options.metrics?.couponPolicyPosition.set(this.position.commit);
      this.options.metrics?.projectionPosition.set({ projection: COUPON_POLICY }, this.position.commit);
    }
  }

  /**
   * Issues the coupon for a reservation (expects no stream) or revokes it (expects exactly the
   * issue at revision 0: never a revoke without an issue, never twice). A wrong expected revision
   * means the effect is already there, from before a crash: that is the idempotency.
   */
  private async handle(stored: StoredDomainEvent): Promise<void> {
    if (stored.event.type !== "ParkingReserved" && stored.event.type !== "ReservationCanceled") return;
    const issuing = stored.event.type === "ParkingReserved";
    const { reservationId, parkingLotId, customerId } = stored.event.data;
    const coupon = { couponId: couponIdFor(reservationId), reservationId, parkingLotId, customerId };
    const now = new Date().toISOString();
    const event: DomainEvent = issuing
      ? { type: "CouponIssued", data: { ...coupon, issuedAt: now } }
      : { type: "CouponRevoked", data: { ...coupon, revokedAt: now } };
    try {
      await this.options.eventStore.appendToStream(
        couponStream(reservationId),
        [
          encodeEvent(event, {
            correlationId: stored.metadata.correlationId,
            causationId: stored.id,
            actor: COUPON_POLICY_ACTOR,
          }),
        ],
        { expectedRevision: issuing ? "no_stream" : 0 },
      );
      this.options.metrics?.couponActions.inc({ action: issuing ? "issued" : "revoked" });
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (!issuing && error.actual === "no_stream") {
        // Log order puts a reservation (and so its issue) before its cancellation; a missing
        // issue means the coupon never existed, so there is nothing to revoke.
        this.options.logger.warn(
          { reservationId },
          "cancellation of a reservation without a coupon: nothing to revoke",
        );
        this.options.metrics?.couponActions.inc({ action: "nothing-to-revoke" });
        return;
      }
      this.options.metrics?.couponActions.inc({ action: "already-done" });
    }
  }
}
