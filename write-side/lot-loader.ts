import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { decodeSealedEvent } from "../schemas/event-codec.js";
import type { StateAtRevision } from "./decider-runner.js";
import { currentLotPeriod, lotPeriodHolding } from "./lot-streams.js";
import {
  evolve,
  initialState,
  PARKING_LOT_EVENT_TYPES,
  type ParkingLotEvent,
  type ParkingLotState,
  parkingLotStream,
} from "./parking-lot/decider.js";

export type LotAtRevision = StateAtRevision<ParkingLotState>;

/** A lot folded up to the last event of one of its periods' streams. */
export interface LotInPeriod extends LotAtRevision {
  /** The period's stream (periods.ts, `parkingLotStream`). */
  readonly stream: string;
  /** Whether its last event closed the period's books (LotBooksClosed): the next period is the lot's. */
  readonly closed: boolean;
}

/**
 * Loads a lot: its current period's opening (LotPeriodOpened, the lot's one checkpoint; period 0
 * from the registration) and that period's events after it. A period's books close at its bound,
 * so a load costs at most one period whatever the lot's history.
 */
export class LotLoader {
  constructor(private readonly eventStore: EventStore) {}

  /** The lot's current period (the last whose stream exists), folded from its opening. */
  async load(parkingLotId: string): Promise<LotInPeriod> {
    const period = await this.currentPeriod(parkingLotId);
    return this.catchUp(parkingLotStream(parkingLotId, period), EMPTY_STREAM);
  }

  currentPeriod(parkingLotId: string): Promise<number> {
    return currentLotPeriod(this.eventStore, parkingLotId);
  }

  /**
   * The lot as of a point of its history, for the read side: the opening of the last period whose
   * opening `holds` (else period 0), folded up to the first event `holds` rejects (`beyond`: one
   * was met). `from`, a state of the same period, is carried on rather than folded again. Costs
   * the openings that locate the period and at most that period's events.
   */
  async at(
    parkingLotId: string,
    holds: (recorded: RecordedEvent) => boolean,
    from?: LotInPeriod,
    /** Told each event folded, with the states before and after it (a view's index kept along). */
    observe?: Observer,
  ): Promise<LotInPeriod & { readonly beyond: boolean }> {
    const stream = parkingLotStream(
      parkingLotId,
      await lotPeriodHolding(this.eventStore, parkingLotId, holds),
    );
    const start = from?.stream === stream ? from : EMPTY_STREAM;
    let beyond = false;
    const lot = await this.catchUp(
      stream,
      start,
      (recorded) => {
        beyond = !holds(recorded);
        return !beyond;
      },
      observe,
    );
    return { ...lot, beyond };
  }

  /** Folds the stream's events after `from.revision` into `from.state` (while `holds` accepts them). */
  async catchUp(
    streamId: string,
    from: LotAtRevision & { readonly closed?: boolean },
    holds: (recorded: RecordedEvent) => boolean = () => true,
    observe?: Observer,
  ): Promise<LotInPeriod> {
    let { state, revision, position } = from;
    let closed = from.closed ?? false;
    for await (const recorded of this.eventStore.readStream(streamId, { fromRevision: revision + 1 })) {
      if (!holds(recorded)) break;
      revision = recorded.revision;
      position = recorded.position;
      closed = recorded.type === "LotBooksClosed";
      if (!PARKING_LOT_EVENT_TYPES.has(recorded.type)) continue;
      // Sealed as written: a booking's customer and car are opened when read (reservation-book.ts).
      const event = decodeSealedEvent(recorded).event as ParkingLotEvent;
      const next = evolve(state, event);
      observe?.(state, next, event);
      state = next;
    }
    return { state, revision, position, stream: streamId, closed };
  }
}

type Observer = (before: ParkingLotState, after: ParkingLotState, event: ParkingLotEvent) => void;

const EMPTY_STREAM: LotAtRevision = { state: initialState, revision: -1, position: null };
