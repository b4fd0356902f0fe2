import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { comparePositions, formatPosition, type Position } from "../../event-store/position.js";
import { controlCenterProjection } from "../../projections/read-models/control-center.js";
import { lotFactsProjection } from "../../projections/read-models/lot-facts.js";
import { parkingLotsProjection } from "../../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../../projections/read-models/reservations.js";
import type { AsOfStamp } from "../../schemas/as-of.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import type { LotReach } from "../../schemas/lot-reach.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../../schemas/read-models.js";
import { stampMsOfRaw } from "../history/audit-entry.js";
import { couponStream, ENDS_A_RESERVATION, lotStream } from "../history/history-service.js";
import { type ReservationEventsIndex, reservationFacts } from "../history/reservation-history.js";
import { firstRevisionFrom } from "../history/stream-search.js";
import { QueryService } from "../query-service.js";
import type { Cut } from "./as-of.js";
import { CheckpointStore } from "./checkpoint-store.js";
import { FoldCache, type Folded, type FoldSource } from "./fold-cache.js";
import { FoldState } from "./fold-state.js";

export const TIME_TRAVEL_DEFAULTS = { checkpointEvery: 250, maxSources: 64, maxEntries: 2_000_000 } as const;

/** A view as it was, and which moment of the log it reflects. */
export type AsOfView<T> = T & { readonly asOf: AsOfStamp };

/**
 * Time travel: a view as it was at a moment of the past, answered by folding the same projections
 * over the log up to that moment into a throwaway in-memory store and asking the same query code,
 * with the moment as its "now". The live read models are never read nor written.
 */
export class TimeTravel {
  private readonly cache: FoldCache;

  constructor(
    private readonly events: EventStore,
    options: {
      readonly checkpointEvery?: number;
      readonly maxSources?: number;
      readonly maxEntries?: number;
      /** Keeps the checkpoints across restarts (in TIME_TRAVEL_CHECKPOINTS); none: memory only. */
      readonly store?: DocumentStore;
      /** A checkpoint that could not be laid or kept (the answers stay right, only colder). */
      readonly onError?: (error: unknown) => void;
      /**
       * Where each reservation's events are (the query service): a reservation as of a moment
       * reads its own events; without it, its lot's stream from the booking to the moment.
       */
      readonly index?: ReservationEventsIndex;
    } = {},
  ) {
    this.index = options.index;
    this.onError = options.onError ?? (() => {});
    this.cache = new FoldCache({
      every: options.checkpointEvery ?? TIME_TRAVEL_DEFAULTS.checkpointEvery,
      maxSources: options.maxSources ?? TIME_TRAVEL_DEFAULTS.maxSources,
      maxEntries: options.maxEntries ?? TIME_TRAVEL_DEFAULTS.maxEntries,
      ...(options.store ? { store: new CheckpointStore(options.store, this.onError) } : {}),
    });
  }

  private readonly onError: (error: unknown) => void;
  private readonly index: ReservationEventsIndex | undefined;

  private lotSource(parkingLotId: string): FoldSource {
    const stream = lotStream(parkingLotId);
    return {
      key: `lot:${parkingLotId}`,
      projections: [parkingLotsProjection, reservationsProjection, lotFactsProjection],
      read: (count) => this.events.readStream(stream, { fromRevision: count }),
    };
  }

  private readonly allSource: FoldSource = {
    key: "all",
    projections: [parkingLotsProjection, reservationsProjection, controlCenterProjection, lotFactsProjection],
    read: (_count, position) => this.events.readAll(position ? { from: position } : {}),
  };

  /** One lot as GET /parking-lots/{id} answered at the cut; null when it did not exist yet. */
  async parkingLot(parkingLotId: string, cut: Cut): Promise<AsOfView<ParkingLotDetail> | null> {
    const source = this.lotSource(parkingLotId);
    const folded = await this.cache.fold(source, cut);
    // The lot's later checkpoints are laid in the background, after this answer.
    this.cache.layAhead(source, this.onError);
    return this.ask(folded, cut, async (queries) => queries.parkingLotDetail(parkingLotId));
  }

  /**
   * Any view of one lot as it was at the cut (its timeline, its reservations): the lot's log folded
   * to the cut, and `query` asked of the same query code with the cut as its now.
   */
  async lotView<T extends object>(
    parkingLotId: string,
    cut: Cut,
    query: (queries: QueryService) => Promise<T | null>,
  ): Promise<AsOfView<T> | null> {
    const source = this.lotSource(parkingLotId);
    const folded = await this.cache.fold(source, cut);
    this.cache.layAhead(source, this.onError);
    return this.ask(folded, cut, query);
  }

  /** The control center (JSON) as it was at the cut. */
  async controlCenter(
    cut: Cut,
    page: { readonly limit: number; readonly cursor?: string; readonly within?: LotReach },
  ): Promise<AsOfView<ControlCenterView>> {
    const folded = await this.cache.fold(this.allSource, cut);
    // As for a lot: the log's later checkpoints are laid in the background, after this answer.
    this.cache.layAhead(this.allSource, this.onError);
    // Before the first fact (a position before it) the service was empty: that is a view too,
    // as of the earliest instant asked about, not a missing one.
    const view = await this.ask(folded, cut, (queries) => queries.controlCenter(page), EMPTY_LOG_MS);
    return view as AsOfView<ControlCenterView>;
  }

  /**
   * One reservation as it was at the cut: the facts of its lot's stream that name it (from its
   * booking on, `from` its position) and its coupon's, folded. Null when it was not booked yet.
   */
  async reservation(
    reservationId: string,
    where: { readonly parkingLotId: string; readonly position: Position },
    cut: Cut,
  ): Promise<AsOfView<ReservationView> | null> {
    const keep = (raw: RecordedEvent) =>
      cut.kind === "position"
        ? raw.position.commit <= cut.commit
        : !(stampMsOfRaw(raw.type, raw.data) > cut.ms);
    const facts = this.index
      ? (
          await reservationFacts(this.events, this.index, reservationId, {
            parkingLotId: where.parkingLotId,
            position: where.position.commit,
          })
        ).filter(keep)
      : await this.scannedFacts(reservationId, where, keep);
    if (facts === null) return null;
    const state = new FoldState([reservationsProjection]);
    let stampMs = Number.NEGATIVE_INFINITY;
    for (const raw of facts) {
      state.apply(decodeEvent(raw));
      stampMs = Math.max(stampMs, stampMsOfRaw(raw.type, raw.data));
    }
    const newest = facts.at(-1);
    const folded: Folded = {
      state,
      position: newest?.position ?? null,
      stampMs: newest ? stampMs : Number.NaN,
      folded: facts.length,
    };
    return this.ask(folded, cut, (queries) => queries.reservation(reservationId));
  }

  /**
   * Without the reservation-events index (a caller that gives none: a CLI, a bench): the lot's
   * stream scanned from the booking to the cut, and the coupon's stream. Null without the lot's stream.
   */
  private async scannedFacts(
    reservationId: string,
    where: { readonly parkingLotId: string; readonly position: Position },
    keep: (raw: RecordedEvent) => boolean,
  ): Promise<RecordedEvent[] | null> {
    const facts: RecordedEvent[] = [];
    const stream = lotStream(where.parkingLotId);
    const start = await firstRevisionFrom(this.events, stream, where.position.commit);
    if (start === null) return null;
    for await (const raw of this.events.readStream(stream, { fromRevision: start })) {
      if (!keep(raw)) break;
      if (reservationIdOf(raw) !== reservationId) continue;
      facts.push(raw);
      if (ENDS_A_RESERVATION.has(raw.type)) break;
    }
    for await (const raw of this.events.readStream(couponStream(reservationId))) {
      if (!keep(raw)) break;
      facts.push(raw);
    }
    return facts.sort((a, b) => comparePositions(a.position, b.position));
  }

  /** Asks the query code over the folded state, with the moment as its clock, and says which moment. */
  private async ask<T extends object>(
    folded: Folded,
    cut: Cut,
    query: (queries: QueryService) => Promise<T | null>,
    nothingFoldedMs = Number.NaN,
  ): Promise<AsOfView<T> | null> {
    const nowMs =
      cut.kind === "instant" ? cut.ms : Number.isNaN(folded.stampMs) ? nothingFoldedMs : folded.stampMs;
    if (Number.isNaN(nowMs)) return null;
    const store: DocumentStore = folded.state.materialize(folded.position);
    try {
      const queries = new QueryService(store, { readYourWritesTimeoutMs: 0, now: () => nowMs });
      const view = await query(queries);
      if (!view) return null;
      return {
        ...view,
        asOf: {
          position: folded.position ? formatPosition(folded.position) : null,
          at: new Date(nowMs).toISOString(),
        },
      };
    } finally {
      await store.close();
    }
  }

  stats(): { sources: number; checkpoints: number; entries: number } {
    return this.cache.stats();
  }

  /** The checkpoint writes handed to the document store so far done. */
  settled(): Promise<void> {
    return this.cache.settled();
  }
}

/** The instant an answer about the log before its first fact is computed as of (the earliest asked about). */
const EMPTY_LOG_MS = Date.parse("2000-01-01T00:00:00Z");

const reservationIdOf = (raw: RecordedEvent): unknown =>
  (raw.data as { reservationId?: unknown } | null)?.reservationId;
