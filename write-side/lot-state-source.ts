import { randomUUID } from "node:crypto";
import { AppendTooLargeError, WrongExpectedRevisionError } from "../event-store/errors.js";
import { appendBytes, type EventStore, type EventToAppend } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import { systemActor } from "../schemas/actor.js";
import { encodeEvent } from "../schemas/event-codec.js";
import type { EventOfType } from "../schemas/events.js";
import type { StateSource } from "./decider-runner.js";
import { type LotAtRevision, type LotInPeriod, LotLoader } from "./lot-loader.js";
import {
  type Decision,
  decide,
  evolve,
  initialState,
  type ParkingLotState,
  parkingLotStream,
} from "./parking-lot/decider.js";
import { liveState, openingOf } from "./parking-lot/period-books.js";
import { lotPeriodOfStream } from "./parking-lot/periods.js";

export interface LotStateSourceOptions {
  readonly logger?: Logger;
  /**
   * LOT_PERIOD_EVENTS: an append leaving the current period at or over it closes the books. 0 (the
   * default): this source closes none, only follows others' periods (tests writing one stream).
   */
  readonly periodEvents?: number;
  /** The clock of the openings' cut-off (periods.ts, KEEP_ENDED_MS); Date.now by default. */
  readonly now?: () => number;
}

/** How often a load tries to close the books of a period over its bound before deciding in it anyway. */
const SETTLE_ATTEMPTS = 5;

const BOOKS_ACTOR = systemActor("lot-books");

interface Opening {
  readonly stream: string;
  readonly event: EventOfType<"LotPeriodOpened">;
  readonly encoded: EventToAppend;
}

/** The lots whose opening was found too large for the event store: warned about once per process. */
const warnedTooLarge = new Set<string>();

/** The lot's state for the decider runner (lot-loader.ts), and the close of its books when due. */
export class LotStateSource implements StateSource<ParkingLotState> {
  private readonly loader: LotLoader;
  private readonly bound: number;
  /**
   * Period streams whose next opening was too large for the store, with the revision to measure it
   * again at: an opening is encoded (every carried booking sealed) once per bound's worth of events.
   */
  private readonly measureAgainAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly eventStore: EventStore,
    private readonly options: LotStateSourceOptions,
  ) {
    this.loader = new LotLoader(eventStore);
    this.bound = options.periodEvents ?? 0;
    this.now = options.now ?? Date.now;
  }

  async load(parkingLotId: string): Promise<LotAtRevision> {
    return atRevision(await this.settle(parkingLotId, await this.loader.load(parkingLotId)));
  }

  /** The lot, changing nothing: a period over its bound, or closed unopened, is left to its next command. */
  async read(parkingLotId: string): Promise<LotAtRevision> {
    return atRevision(await this.loader.load(parkingLotId));
  }

  async catchUp(streamId: string, from: LotAtRevision): Promise<LotAtRevision> {
    const lot = lotPeriodOfStream(streamId);
    const caught = await this.loader.catchUp(streamId, from);
    return atRevision(lot ? await this.settle(lot.parkingLotId, caught) : caught);
  }

  /**
   * After an append: books due close (expecting the revision just written) and the next period
   * opens. Another writer's append in between wins: the cached state is dropped (undefined).
   */
  afterAppend(
    parkingLotId: string,
    at: LotAtRevision,
  ): (() => Promise<LotAtRevision | undefined>) | undefined {
    const decision = this.closing(parkingLotId, at);
    if (!decision?.ok) return undefined;
    return async () => {
      const closed = await this.closeBooks(parkingLotId, at, decision);
      return closed === "kept" ? at : closed && atRevision(closed);
    };
  }

  /** "kept": nothing to close (not due, or an opening too large); undefined: another writer won, or a store failed. */
  private async closeBooks(
    parkingLotId: string,
    at: LotAtRevision,
    decision = this.closing(parkingLotId, at),
  ): Promise<LotInPeriod | "kept" | undefined> {
    const stream = at.stream ?? parkingLotStream(parkingLotId);
    const period = periodOf(at);
    if (!decision?.ok) return "kept";
    try {
      // The opening first: one the store cannot take leaves the books open (see `fits`), the lot usable.
      if (at.revision < (this.measureAgainAt.get(stream) ?? -1)) return "kept";
      const opening = this.nextOpening(parkingLotId, period + 1, at.state);
      if (!this.fits(parkingLotId, opening)) {
        this.measureAgainAt.set(stream, at.revision + this.bound);
        return "kept";
      }
      this.measureAgainAt.delete(stream);
      await this.eventStore.appendToStream(stream, decision.events.map(encodeBooks), {
        expectedRevision: at.revision,
      });
      const opened = await this.open(parkingLotId, opening);
      return opened ? await this.settle(parkingLotId, opened) : undefined;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError))
        this.options.logger?.warn(
          { err: error, parkingLotId, period },
          "lot books not closed: the next load closes them",
        );
      return undefined;
    }
  }

  /**
   * Closes a quiet lot's books if due, as after an append (the books upgrade, the scheduler); a
   * writer appending meanwhile wins and the lot is looked at anew. True when this call closed them.
   */
  async closeIfOver(parkingLotId: string, retryLimit = 10): Promise<boolean> {
    const before = await this.loader.currentPeriod(parkingLotId);
    for (let attempt = 0; ; attempt++) {
      // A load closes a period over its bound itself (settle): then the lot is in a later period.
      const at = await this.load(parkingLotId);
      const close = this.afterAppend(parkingLotId, at);
      if (!close) return periodOf(at) > before;
      const after = await close();
      if (after) return after !== at;
      if (attempt >= retryLimit)
        throw new Error(`the books of parking lot ${parkingLotId} could not be closed`);
    }
  }

  /** The scheduler's CloseBooks: closeIfOver, else when the books fall due next, if ever. */
  async closeBooksIfDue(parkingLotId: string): Promise<{ closed: boolean; dueAt?: string }> {
    if (await this.closeIfOver(parkingLotId)) return { closed: true };
    const decision = this.closing(parkingLotId, await this.read(parkingLotId));
    const when = decision && !decision.ok && decision.rejection.code === "NotDue" && decision.rejection.at;
    return when && !Number.isNaN(Date.parse(when)) ? { closed: false, dueAt: when } : { closed: false };
  }

  /**
   * The lot's decider on CloseBooks for `at`'s period, now (period-books.ts: due at its size bound or
   * its local day boundary); undefined when this source closes no books.
   */
  private closing(parkingLotId: string, at: LotAtRevision): Decision | undefined {
    if (this.bound <= 0) return undefined;
    const { bound } = this;
    const now = new Date(this.now()).toISOString();
    const events = at.revision + 1;
    return decide({ type: "CloseBooks", parkingLotId, period: periodOf(at), events, bound, now }, at.state);
  }

  /**
   * The lot as of its current period's last event: if that closed the books, the next period, opened.
   * A close whose opening the store cannot take stays this period's last event for now (evolve
   * ignores LotBooksClosed): the next events follow it, and the next append at the bound closes again.
   */
  private async settle(parkingLotId: string, at: LotInPeriod): Promise<LotInPeriod> {
    let lot = at;
    for (let attempt = 0; ; attempt++) {
      if (!lot.closed) {
        // A period already at or over its bound and still open (its last writer's close lost the
        // race to another writer's command, or it died first): its books close before any command
        // is decided on it, else two writers taking turns would never let it close.
        // By size only: a load never closes by the day (that is the next append's or the scheduler's).
        const overBound = this.bound > 0 && lot.revision + 1 >= this.bound;
        if (attempt >= SETTLE_ATTEMPTS || !overBound) return lot;
        const closed = await this.closeBooks(parkingLotId, lot);
        if (closed === "kept") return lot;
        // Another writer appended first: fold what it wrote (its close, perhaps) and look again.
        lot = closed ?? (await this.loader.catchUp(lot.stream, lot));
        continue;
      }
      const opened = await this.open(
        parkingLotId,
        this.nextOpening(parkingLotId, periodOf(lot) + 1, lot.state),
      );
      if (!opened) return lot;
      lot = opened;
    }
  }

  /** Period `period`'s opening: the live state the previous one closed with (period-books.ts), encoded. */
  private nextOpening(parkingLotId: string, period: number, closed: ParkingLotState): Opening {
    const stream = parkingLotStream(parkingLotId, period);
    const now = this.now();
    const event = openingOf(liveState(closed, now), parkingLotId, period, now);
    return { stream, event, encoded: encodeBooks(event) };
  }

  /**
   * Whether the store takes the opening in one write. If not, the books stay open and the period
   * grows past its bound (a longer load, the lesser harm: a close whose opening cannot be written
   * would leave the lot unable to take a command); warned once per lot.
   */
  private fits(parkingLotId: string, opening: Opening): boolean {
    const max = this.eventStore.maxAppendBytes;
    if (max === undefined) return true;
    const bytes = appendBytes([opening.encoded]);
    if (bytes <= max) return true;
    this.warnTooLarge(parkingLotId, bytes, max);
    return false;
  }

  private warnTooLarge(parkingLotId: string, bytes: number, max: number | undefined): void {
    if (warnedTooLarge.has(parkingLotId)) return;
    warnedTooLarge.add(parkingLotId);
    this.options.logger?.warn(
      { parkingLotId, openingBytes: bytes, maxAppendBytes: max },
      `lot books not closed: its opening of ${bytes} bytes exceeds the event store's largest write of ${max ?? "?"}; raise EVENTSTORE_MAX_APPEND_SIZE and the server's MaxAppendSize`,
    );
  }

  /**
   * Opens the next period (its stream's first event); one there already (another process's, or this
   * one's before a crash) is read instead. Undefined when the store cannot take the opening.
   */
  private async open(parkingLotId: string, opening: Opening): Promise<LotInPeriod | undefined> {
    if (!this.fits(parkingLotId, opening)) return undefined;
    const { stream } = opening;
    try {
      const appended = await this.eventStore.appendToStream(stream, [opening.encoded], {
        expectedRevision: "no_stream",
      });
      return {
        state: evolve(initialState, opening.event),
        revision: appended.nextExpectedRevision,
        position: appended.position,
        stream,
        closed: false,
      };
    } catch (error) {
      if (error instanceof AppendTooLargeError) {
        this.warnTooLarge(parkingLotId, appendBytes([opening.encoded]), this.eventStore.maxAppendBytes);
        return undefined;
      }
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      return this.loader.catchUp(stream, { state: initialState, revision: -1, position: null });
    }
  }
}

/** The period whose stream `at` is of (0: the lot's first stream, or none named). */
const periodOf = (at: LotAtRevision): number => lotPeriodOfStream(at.stream ?? "")?.period ?? 0;

/** A close's or opening's event, with metadata of its own (no command caused it). */
const encodeBooks = (event: Parameters<typeof encodeEvent>[0]): EventToAppend =>
  encodeEvent(event, { correlationId: randomUUID(), causationId: randomUUID(), actor: BOOKS_ACTOR });

/** The runner's view of a loaded lot: its state, revision and position in its period's stream. */
const atRevision = ({ state, revision, position, stream }: LotInPeriod): LotAtRevision => ({
  state,
  revision,
  position,
  stream,
});
