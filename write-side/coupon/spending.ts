import type { EventStore } from "../../event-store/port.js";
import type { Logger } from "../../platform/logger.js";
import type { ReserveParking } from "../../schemas/commands.js";
import type { Causation } from "../../schemas/event-codec.js";
import { isActive } from "../../schemas/reservation-time.js";
import type { CommandContext, CommandOutcome, ParkingLotCommandHandler } from "../command-handler.js";
import { ConcurrencyConflictError, causationOf } from "../decider-runner.js";
import { reservationStatus } from "../parking-lot/decider.js";
import { decideRedemption, decideReturn, type SpendCoupon } from "./coupon.js";
import { appendCoupon, readCoupon } from "./coupon-stream.js";

/**
 * Where a coupon's stream is: its id names the reservation that got it (a deterministic id of that
 * reservation's, which cannot be read backwards), so a lookup finds that reservation. It only
 * locates the stream: what the coupon is (whose, whether spendable) is read from the stream itself.
 * The composition root serves it from the customer-coupons read model.
 */
export interface CouponDirectory {
  /** The reservation whose coupon this is, or undefined if none is known (yet). */
  reservationOf(couponId: string): Promise<string | undefined>;
}

/** How many times a redemption is decided again after the coupon's stream changed under it. */
const RETRY_LIMIT = 3;

/**
 * A booking that spends a coupon. The coupon lives on its own stream and the booking
 * on its lot's, and the stores append to one stream at a time, so the two facts are ordered:
 *
 * 1. the coupon is read from its stream and the redemption decided (the customer's own, ISSUED);
 * 2. the booking is decided on the lot's current state without appending (`preview`): a booking
 *    the lot would refuse spends nothing and appends nothing;
 * 3. the redemption is appended to the coupon's stream with the revision it was decided at, so of
 *    two bookings spending the same coupon one wins, the other decides again and is refused;
 * 4. the booking is run (with the coupon: its discount comes off the price). If the lot refuses it
 *    now (another booking took the last spot between 2 and 4), the coupon is returned
 *    (`CouponReturned`, `booking-refused`): the one case where a refusal leaves facts, on the
 *    coupon's stream only, and the coupon is spendable again.
 *
 * A crash between 3 and 4 leaves the coupon REDEEMED for a booking that was never appended: the
 * client's retry with the same Idempotency-Key (the same reservation id) finds it redeemed for that
 * very booking and completes it. A booking retried after it was appended changes nothing.
 */
export class CouponSpending {
  constructor(
    private readonly eventStore: EventStore,
    private readonly handler: ParkingLotCommandHandler,
    private readonly directory: CouponDirectory,
    private readonly logger?: Logger,
  ) {}

  async reserve(command: ReserveParking, couponId: string, context: CommandContext): Promise<CommandOutcome> {
    const { parkingLotId, reservationId, customerId } = command;
    const owner = await this.directory.reservationOf(couponId);
    if (owner === undefined)
      return { ok: false, rejection: { code: "CouponNotFound", parkingLotId, couponId } };
    const booking: ReserveParking = { ...command, coupon: { couponId, reservationId: owner } };
    // A retry of a booking the lot holds (under any of its ids, write-side/reservation-ids.ts)
    // answers as it did, spending nothing again.
    const before = await this.handler.preview(booking);
    if (before.ok && before.events.length === 0) return this.handler.handle(booking, context);
    const causation = causationOf(context);
    const ask: SpendCoupon = { couponId, customerId, reservationId, parkingLotId, now: command.now };
    for (let attempt = 0; attempt <= RETRY_LIMIT; attempt++) {
      const coupon = await readCoupon(this.eventStore, owner);
      const redemption = decideRedemption(coupon.state, ask);
      if (!redemption.ok) return redemption;
      if (redemption.event) {
        const preview = await this.handler.preview(booking);
        if (!preview.ok) return preview;
        // As above: a booking the lot holds already (perhaps canceled since, its coupon returned).
        if (preview.events.length === 0) return this.handler.handle(booking, context);
        if (!(await appendCoupon(this.eventStore, redemption.event, coupon.revision, causation))) continue;
      }
      const outcome = await this.handler.handle(booking, context);
      if (!outcome.ok) await this.giveBack(owner, ask, causation);
      // A retry that found the coupon redeemed for this booking and booked it: an earlier try,
      // refused, may have given the coupon back meanwhile. The booking holds it: redeemed again.
      else if (!redemption.event && outcome.events.length > 0)
        await this.redeemAgainIfBooked(owner, ask, causation);
      return outcome;
    }
    throw new ConcurrencyConflictError(`coupon-${owner}`, RETRY_LIMIT + 1);
  }

  /**
   * The compensation: the coupon set aside for a booking the lot then refused is spendable again,
   * unless the booking is in the lot after all (a retry of it, on another writer, booked it while
   * this one was refused): then it stays, or is again, redeemed for it. Checked after the return
   * too, so that of the return and a retry's booking, whichever comes second sees the other.
   */
  private async giveBack(owner: string, ask: SpendCoupon, causation: Causation): Promise<void> {
    const { reservationId: redeemedFor, now } = ask;
    if (await this.booked(ask)) return;
    for (let attempt = 0; attempt <= RETRY_LIMIT; attempt++) {
      const coupon = await readCoupon(this.eventStore, owner);
      const back = decideReturn(coupon.state, redeemedFor, "booking-refused", now);
      if (!back) break;
      if (await appendCoupon(this.eventStore, back, coupon.revision, causation)) {
        this.logger?.info(
          { couponId: back.data.couponId, redeemedFor },
          "coupon returned: its booking was refused",
        );
        break;
      }
    }
    await this.redeemAgainIfBooked(owner, ask, causation);
  }

  /** Whether the lot holds the booking live (not refused, not ended). */
  private async booked(ask: SpendCoupon): Promise<boolean> {
    const lot = await this.handler.stateOf(ask.parkingLotId);
    const status = reservationStatus(lot, ask.reservationId, Date.parse(ask.now));
    return status !== undefined && isActive(status);
  }

  /** The coupon redeemed for the booking again, if the lot holds the booking and the coupon was given back. */
  private async redeemAgainIfBooked(owner: string, ask: SpendCoupon, causation: Causation): Promise<void> {
    for (let attempt = 0; attempt <= RETRY_LIMIT; attempt++) {
      const coupon = await readCoupon(this.eventStore, owner);
      const again = decideRedemption(coupon.state, ask);
      if (again.ok && again.event === undefined) return; // redeemed for it
      if (!(await this.booked(ask))) return;
      if (!again.ok || again.event === undefined) {
        // Spent on another booking in the moment it was spendable: the one case left to an operator.
        this.logger?.warn(
          { couponId: ask.couponId, redeemedFor: ask.reservationId },
          "a booked coupon was spent twice",
        );
        return;
      }
      if (await appendCoupon(this.eventStore, again.event, coupon.revision, causation)) return;
    }
  }
}
