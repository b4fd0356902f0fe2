import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import type { EventStore, RecordedEvent } from "../../event-store/port.js";
import { formatPosition, type Position } from "../../event-store/position.js";
import { FinalAnswers } from "../../platform/final-answers.js";
import { controlCenterProjection } from "../../projections/read-models/control-center.js";
import {
  BOOK_PROJECTIONS,
  type Book,
  lastBookBefore,
  REGISTERED_LOTS,
} from "../../projections/read-models/control-center-books.js";
import { lotAtOpening, lotPageAtOpening, periodViewOf } from "../../projections/read-models/opening-view.js";
import {
  lotDocumentAtOpening,
  PARKING_LOTS,
  parkingLotsProjection,
} from "../../projections/read-models/parking-lots.js";
import { RESERVATIONS, reservationsProjection } from "../../projections/read-models/reservations.js";
import type { AsOfStamp } from "../../schemas/as-of.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { type LotReach, reaches } from "../../schemas/lot-reach.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../../schemas/read-models.js";
import { lotPeriodHolding, readLotEvents } from "../../write-side/lot-streams.js";
import { parkingLotStream } from "../../write-side/parking-lot/periods.js";
import { stampMsOfRaw } from "../history/audit-entry.js";
import {
  type ReservationEventsIndex,
  reservationFacts,
  scannedReservationFacts,
} from "../history/reservation-history.js";
import { LotsAt } from "../views/lots-at.js";
import { readViews, type Views } from "../views/views.js";
import { type Cut, within } from "./as-of.js";
import { type CacheStats, FoldCache, type Folded, type FoldSource, FoldTooFarError } from "./fold-cache.js";
import { FoldState, foldCollection } from "./fold-state.js";

export const TIME_TRAVEL_DEFAULTS = {
  checkpointEvery: 250,
  maxFold: 1_000,
  maxBytesPerSource: 64 * 1024 * 1024,
  maxBytes: 256 * 1024 * 1024,
  /** Lots whose state as of the last moment asked is kept (lots-at.ts), the least recently asked out first. */
  lotsKept: 256,
} as const;

/** A view as it was, and which moment of the log it reflects. */
export type AsOfView<T> = T & { readonly asOf: AsOfStamp };

/**
 * Time travel: a view as it was at a moment of the past, answered by folding the same projections
 * over the log up to that moment into a throwaway in-memory document store (fold-state.ts) and
 * asking the same query code, with the moment as its "now". The live read models are never read
 * nor written. A lot's or the control center's answer folds at most `maxFold` events from the
 * nearest checkpoint (fold-cache.ts); a reservation's folds its own handful of events.
 */
export class TimeTravel {
  private readonly cache: FoldCache;

  constructor(
    private readonly events: EventStore,
    options: { readonly [K in keyof typeof TIME_TRAVEL_DEFAULTS]?: number } & {
      /** Where each reservation's events are (without it, its lot's stream is scanned). */
      readonly index?: ReservationEventsIndex;
      /** Where the control center's books are (control-center-books.ts). */
      readonly books?: DocumentStore;
    } = {},
  ) {
    this.index = options.index;
    this.books = options.books;
    this.lotsAt = new LotsAt(events, options.lotsKept ?? TIME_TRAVEL_DEFAULTS.lotsKept);
    const every = options.checkpointEvery ?? TIME_TRAVEL_DEFAULTS.checkpointEvery;
    this.maxFold = options.maxFold ?? Math.max(every, TIME_TRAVEL_DEFAULTS.maxFold);
    this.cache = new FoldCache({
      every,
      maxFold: this.maxFold,
      maxBytesPerSource: options.maxBytesPerSource ?? TIME_TRAVEL_DEFAULTS.maxBytesPerSource,
      maxBytes: options.maxBytes ?? TIME_TRAVEL_DEFAULTS.maxBytes,
    });
  }

  private readonly index: ReservationEventsIndex | undefined;
  /** Each lot's decider state as of a moment: the write side's loader (LotLoader.at), kept bounded. */
  private readonly lotsAt: LotsAt;
  private readonly books: DocumentStore | undefined;
  /** The most events one answer folds. */
  private readonly maxFold: number;
  /** Final answers (see Folded.final), by view and moment: a flood of one moment folds it once. */
  private readonly answers = new FinalAnswers(FINAL_ANSWERS_KEPT);

  /**
   * What a view of one lot reads as of a moment from its first event, through its periods as one
   * sequence (write-side/lot-streams.ts): in period 0, and in a period whose view is not recorded
   * (its reactor lags, or data from before it). `lot`: its document, `page`: its reservations too.
   */
  private startSource(parkingLotId: string, view: "lot" | "page"): FoldSource {
    const { from: _seed, ...seed } = SEEDS[view];
    return {
      ...seed,
      key: `${view}:${parkingLotId}`,
      read: (count, _position, max) => readLotEvents(this.events, parkingLotId, count, max),
    };
  }

  /**
   * A view of one lot as of the cut, from the opening of the period holding it (issue 48): the lot's
   * state there (the write side's), then the period's facts; no event before the opening is folded
   * (finding the period reads a few openings: lot-streams.ts). The documents the fold starts with:
   * for `lot` and `page` the
   * period's view (one read of its side stream: opening-view.ts, written by the lot-period-view
   * reactor), and from the lot's start while it is not recorded. Period 0 from its first event.
   */
  private async periodSource(parkingLotId: string, cut: Cut, view: "lot" | "page"): Promise<FoldSource> {
    const period = await lotPeriodHolding(this.events, parkingLotId, (opening) =>
      within(cut, opening.position, stampMsOfRaw(opening.type, opening.data)),
    );
    const stream = parkingLotStream(parkingLotId, period);
    const read: FoldSource["read"] = (count, _position, max) =>
      this.events.readStream(stream, { fromRevision: count, maxCount: max });
    const key = `lot-${view}:${parkingLotId}/${period}`;
    const recorded = await periodViewOf(this.events, parkingLotId, period);
    if (!recorded) return this.startSource(parkingLotId, view);
    const { from, ...seed } = SEEDS[view];
    return { ...seed, opening: from(recorded), key, read };
  }

  /** The log from the control center's book `book` (control-center-books.ts; without: from its start). */
  private booksSource(book: Book | undefined): FoldSource {
    return {
      key: `books:${book?.book ?? 0}`,
      projections: BOOK_PROJECTIONS,
      ...(book ? { start: { ...book, count: book.events } } : {}),
      read: (_count, position, max) =>
        this.events.readAll(position ? { from: position, maxCount: max } : { maxCount: max }),
    };
  }

  /** One lot as GET /parking-lots/{id} answered at the cut; null when it did not exist yet. */
  async parkingLot(parkingLotId: string, cut: Cut): Promise<AsOfView<ParkingLotDetail> | null> {
    return this.answers.answer(`lot:${parkingLotId}@${cutKey(cut)}`, async () => {
      const folded = await this.cache.fold(await this.periodSource(parkingLotId, cut, "lot"), cut);
      const view = await this.ask(folded, cut, async (views) => views.lots.parkingLotDetail(parkingLotId));
      return { view, final: folded.final };
    });
  }

  /**
   * Any view of one lot as it was at the cut (its timeline, its reservations), `query` asked of it,
   * `period` for a view that reads nothing but the lot's state (its timeline): the loader's state as
   * of the cut (lots-at.ts); `page` for its documents (its reservations), folded from the opening of
   * the period holding the cut (periodSource);
   * `start`: from its first event.
   */
  async lotView<T extends object>(
    parkingLotId: string,
    cut: Cut,
    query: (views: Views) => Promise<T | null>,
    from: "start" | "period" | "page" = "start",
  ): Promise<AsOfView<T> | null> {
    if (from === "period") return this.ask(await this.lotAt(parkingLotId, cut), cut, query);
    const source =
      from === "start"
        ? this.startSource(parkingLotId, "page")
        : await this.periodSource(parkingLotId, cut, from);
    const folded = await this.cache.fold(source, cut);
    return this.ask(folded, cut, query);
  }

  /**
   * The lot's state as of the cut (the loader's: lots-at.ts) as a fold the views are asked of:
   * its document as that state holds it (lotDocumentAtOpening) and the state itself.
   */
  private async lotAt(parkingLotId: string, cut: Cut): Promise<Folded> {
    const lot = await this.lotsAt.at(parkingLotId, cut);
    const folded = new FoldState([parkingLotsProjection]);
    if (lot.state.kind === "registered") folded.write(lotDocumentAtOpening(lot.state, foldCollection));
    return { state: folded, position: lot.position, stampMs: lot.stampMs, folded: 0, final: lot.final };
  }

  /**
   * The control center (JSON) as it was at the cut (issue 48): the log folded from its last book
   * before the cut, and every lot registered then from its period holding the cut (as the lot as
   * of a moment is). The folds of one answer share its `maxFold` events.
   */
  async controlCenter(
    cut: Cut,
    page: { readonly limit: number; readonly cursor?: string; readonly within?: LotReach },
  ): Promise<AsOfView<ControlCenterView>> {
    const key = `all@${cutKey(cut)}/${page.limit}/${page.cursor ?? ""}/${JSON.stringify(page.within ?? null)}`;
    const view = await this.answers.answer(key, async () => {
      const book =
        this.books && (await lastBookBefore(this.books, (b) => within(cut, b.position, b.stampMs)));
      const books = await this.cache.fold(this.booksSource(book), cut);
      // Each lot up to the last event of the log the cut holds (as the whole log's fold would stop).
      const upTo: Cut = books.position ? { kind: "position", commit: books.position.commit } : cut;
      let budget = this.maxFold - books.folded;
      const documents: WriteOp[] = [];
      for (const [collection, { _id: parkingLotId }] of books.state.documents()) {
        if (collection !== foldCollection(REGISTERED_LOTS)) continue;
        // A member of staff scoped to lots sees only theirs (and no totals): no other lot is read.
        if (page.within && !reaches(page.within, parkingLotId)) continue;
        if (budget <= 0) throw new FoldTooFarError(this.maxFold);
        const source = await this.periodSource(parkingLotId, upTo, "lot");
        const lot = await this.cache.fold(source, upTo, budget);
        budget -= lot.folded;
        for (const [collection, { _id, ...document }] of lot.state.documents())
          if (collection === foldCollection(PARKING_LOTS))
            documents.push({ op: "replace", collection, id: _id, document });
      }
      const joined: Folded = { ...books, state: books.state.joined(CONTROL_CENTER_READS, documents) };
      // Before the first fact the service was empty: a view too, as of the earliest instant.
      const view = await this.ask(joined, cut, (views) => views.controlCenter.controlCenter(page), {
        nothingFoldedMs: EMPTY_LOG_MS,
        lotsAt: upTo,
      });
      return { view, final: books.final };
    });
    return view as AsOfView<ControlCenterView>;
  }

  /** One reservation as it was at the cut: the facts that name it, folded. Null when not booked yet. */
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
      : await scannedReservationFacts(this.events, reservationId, where, keep);
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
      final: false,
    };
    return this.ask(folded, cut, (views) => views.reservations.reservation(reservationId));
  }

  /** Asks the query code over the folded state, with the moment as its clock, and says which moment. */
  private async ask<T extends object>(
    folded: Folded,
    cut: Cut,
    query: (views: Views) => Promise<T | null>,
    /** The instant of an answer before the first fact; the cut the lots' states are read at (default: `cut`). */
    options: { readonly nothingFoldedMs?: number; readonly lotsAt?: Cut } = {},
  ): Promise<AsOfView<T> | null> {
    const nowMs =
      cut.kind === "instant"
        ? cut.ms
        : Number.isNaN(folded.stampMs)
          ? (options.nothingFoldedMs ?? Number.NaN)
          : folded.stampMs;
    if (Number.isNaN(nowMs)) return null;
    // The fold done: let other requests in before the query's own turn.
    await yieldToEventLoop();
    const store: DocumentStore = folded.state.materialize(folded.position);
    try {
      // Each lot's state at the cut, from the one loader and its cache (lots-at.ts).
      const lotsAt = options.lotsAt ?? cut;
      const lots = (id: string) => this.lotsAt.at(id, lotsAt);
      const views = readViews(store, { readYourWritesTimeoutMs: 0, now: () => nowMs, lots });
      const view = await query(views);
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

  /** Forgets every checkpoint and kept answer: folded before an erasure, they hold its data (issue 36). */
  forgetPersonalData(): void {
    this.cache.clear();
    this.lotsAt.forget();
    this.answers.clear();
  }

  stats(): CacheStats {
    return this.cache.stats();
  }

  /** What /metrics reports (`parking_time_travel_checkpoints` by kind: platform/metrics.ts). */
  metricsStats(): Readonly<Record<string, number>> {
    const { sources, checkpoints, entries, bytes } = this.cache.stats();
    const stateBytes = this.lotsAt.keptBytes;
    return { sources, checkpoints, documents: entries, bytes: bytes + stateBytes, state_bytes: stateBytes };
  }
}

/**
 * What each view of one lot folds, and the documents a fold starting at an opening writes: the
 * lot's document (`lot`); `page`: its
 * facts (the closures not begun) and reservations too, whose table walks an index range, as live.
 * `from`: the documents a fold of `lot` or `page` starts with, from the period's recorded view.
 */
const SEEDS = {
  lot: { projections: [parkingLotsProjection], from: lotAtOpening },
  page: {
    projections: [parkingLotsProjection, reservationsProjection],
    indexes: { [RESERVATIONS]: ["by_lot", "by_lot_status"] },
    from: lotPageAtOpening,
  },
} as const;

/** The read models the control center reads (their checkpoints in its answer's `projections`). */
const CONTROL_CENTER_READS = [...SEEDS.page.projections, controlCenterProjection];

/** Final answers kept (each one view of a lot or a page of the control center: a few KB). */
const FINAL_ANSWERS_KEPT = 256;

const cutKey = (cut: Cut): string => (cut.kind === "position" ? `p${cut.commit}` : `t${cut.ms}`);

/** The instant an answer about the log before its first fact is computed as of. */
const EMPTY_LOG_MS = Date.parse("2000-01-01T00:00:00Z");
