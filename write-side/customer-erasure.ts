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

/** What else forgets the customer once their keys are gone (the lots' cached states, the sessions). */
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
 * Erasing a customer (issue 36, crypto-shredding): records the erasure fact in the customer's own
 * stream, then deletes their data keys, after which every personal field sealed under them reads
 * `erased` everywhere the log is read. Erasing twice records a second fact and deletes nothing more.
 * The fact first: if the key store fails after it, the erasure is recorded and a retry finishes it;
 * the other way round a customer could be erased with no fact to say so.
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
