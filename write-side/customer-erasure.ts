import type { EventStore } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import type { DataKeys } from "../platform/data-keys/port.js";
import { type Causation, encodeEvent } from "../schemas/event-codec.js";

/**
 * The reservations a customer holds, as far as the read models know (their ids and lots);
 * `unlisted` when this process cannot know them (no read models): the erasure fact says so, and
 * the projectors list them in a second fact.
 */
export type ReservationsOf = (customerId: string) => Promise<{
  readonly reservationIds: readonly string[];
  readonly parkingLotIds: readonly string[];
  readonly unlisted?: boolean;
}>;

/** What else forgets the customer once their keys are gone (lots' cached states, sessions). */
export type ForgetAfterErasure = (
  parkingLotIds: readonly string[],
  reservationIds: readonly string[],
  customerId: string,
) => Promise<void>;

export interface ErasureOutcome {
  /** The customer's pseudonym in the erasure fact. */
  readonly subject: string;
  readonly reservationIds: readonly string[];
  readonly position: Position;
  readonly erasedAt: string;
  /** The reservations are listed later, by the projectors (see ReservationsOf). */
  readonly unlisted: boolean;
}

/**
 * Erasing a customer (crypto-shredding): the erasure fact on the customer's own stream, then their
 * data keys deleted, after which every field sealed under them reads `erased`. The fact first: if
 * the key store fails after it, a retry finishes it; the other way round an erasure could go unrecorded.
 */
export class CustomerErasure {
  constructor(
    private readonly eventStore: EventStore,
    private readonly keys: DataKeys,
    private readonly reservationsOf: ReservationsOf,
    private readonly afterErasure: ForgetAfterErasure = async () => {},
  ) {}

  async erase(
    customerId: string,
    request: { readonly reason?: string; readonly now: string; readonly causation: Causation },
  ): Promise<ErasureOutcome> {
    const subject = this.keys.pseudonym(customerId);
    const { reservationIds, parkingLotIds, unlisted } = await this.reservationsOf(customerId);
    const event = encodeEvent(
      {
        type: "CustomerErased",
        data: {
          subject,
          reservationIds: [...reservationIds],
          parkingLotIds: [...new Set(parkingLotIds)],
          ...(request.reason === undefined ? {} : { reason: request.reason }),
          erasedAt: request.now,
          ...(unlisted ? { unlisted: true as const } : {}),
        },
      },
      request.causation,
    );
    const appended = await this.eventStore.appendToStream(`customer-${subject}`, [event], {
      expectedRevision: "any",
    });
    await this.keys.erase(customerId);
    await this.afterErasure(parkingLotIds, reservationIds, customerId);
    return {
      subject,
      reservationIds,
      position: appended.position,
      erasedAt: request.now,
      unlisted: unlisted === true,
    };
  }
}
