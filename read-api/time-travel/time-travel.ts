import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { formatPosition, type Position } from "../../event-store/position.js";
import { FinalAnswers } from "../../platform/final-answers.js";
import { controlCenterProjection } from "../../projections/read-models/control-center.js";
import {
  BOOK_EVENTS,
  BOOK_PROJECTIONS,
  type Book,
  foldedInBooks,
  lastBookBefore,
  REGISTERED_LOTS,
} from "../../projections/read-models/control-center-books.js";
import { lotDocumentOf, parkingLotsProjection } from "../../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../../projections/read-models/reservations.js";
import type { AsOfStamp } from "../../schemas/as-of.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import { stampMsOfRaw } from "../../schemas/event-stamps.js";
import { type LotReach, reaches } from "../../schemas/lot-reach.js";
import type { ControlCenterView, ParkingLotDetail, ReservationView } from "../../schemas/read-models.js";
import { type ReservationEventsIndex, reservationFacts } from "../history/reservation-history.js";
import { type LotAt, LotsAt } from "../views/lots-at.js";
import type { PageOf } from "../views/read-context.js";
import { heldReservations, type ReservationQuery } from "../views/reservation-view.js";
import { readViews, type Views } from "../views/views.js";
import { type Cut, EARLIEST_MS, within } from "./as-of.js";
import { FoldState, foldCollection } from "./fold-state.js";

export const TIME_TRAVEL_DEFAULTS = {
  /** The most events of the log an answer folds from the control center's book before the moment. */
  maxFold: BOOK_EVENTS + 1_000,
  /** Lots whose state as of the last moment asked is kept (lots-at.ts), the least recently asked out first. */
  lotsKept: 256,
} as const;

/** A fold of read models up to a cut, and which moment of the log it reached. */
interface Folded {
  readonly state: FoldState;
  /** Position of the last event folded and the latest stamp among them (null, NaN: none was). */
  readonly position: Position | null;
  readonly stampMs: number;
  /** Whether the fold met an event beyond the cut: no later event can change its answer. */
  readonly final: boolean;
}

/**
 * The moment lies further than `maxFold` events after the control center's last book before it
 * (its reactor is behind, or writes the books again after a rebuild): ask again once it caught up.
 */
export class FoldTooFarError extends Error {
  override name = "FoldTooFarError";
  constructor(readonly folded: number) {
    super(`the control center's books end more than ${folded} events before that moment`);
  }
}

/** Events folded between two turns of the event loop given to other requests. */
const YIELD_EVERY = 25;

/** A view as it was, and which moment of the log it reflects. */
export type AsOfView<T> = T & { readonly asOf: AsOfStamp };

/**
 * Time travel: a view as it was at a moment of the past, asked of the same query code with the
 * moment as its "now" (so no view is restated): lots from the one loader, a reservation from its own
 * events, the control center from its last book before the moment, at most `maxFold` events folded.
 */
export class TimeTravel {
  constructor(
    private readonly events: EventStore,
    private readonly options: { readonly [K in keyof typeof TIME_TRAVEL_DEFAULTS]?: number } & {
      /** Where each reservation's events are (a reservation as of a moment is read through it). */
      readonly index?: ReservationEventsIndex;
      /** Where the control center's books are (control-center-books.ts). */
      readonly books?: DocumentStore;
    } = {},
  ) {
    this.lotsAt = new LotsAt(events, options.lotsKept ?? TIME_TRAVEL_DEFAULTS.lotsKept);
    this.maxFold = options.maxFold ?? TIME_TRAVEL_DEFAULTS.maxFold;
  }

  private readonly maxFold: number;
  /** Each lot's decider state as of a moment: the write side's loader (LotLoader.at), kept bounded. */
  private readonly lotsAt: LotsAt;
  /** Final answers (see Folded.final), by view and moment: a flood of one moment folds it once. */
  private readonly answers = new FinalAnswers(FINAL_ANSWERS_KEPT);

  /**
   * The control center's read models at the cut: its book `book` (control-center-books.ts; none:
   * the log's start) and the log's events after it up to the cut, at most `maxFold` of them.
   */
  private async foldFrom(book: Book | undefined, cut: Cut): Promise<Folded> {
    const state = new FoldState(BOOK_PROJECTIONS);
    state.write((book?.documents ?? []).map((op) => ({ ...op, collection: foldCollection(op.collection) })));
    let position = book?.position ?? null;
    let stampMs = book?.stampMs ?? Number.NEGATIVE_INFINITY;
    let folded = 0;
    let final = false;
    // One more than the bound: the event that says whether the cut was reached.
    const after = { ...(position ? { from: position } : {}), maxCount: this.maxFold + 1 };
    for await (const raw of this.events.readAll(after)) {
      const stamp = stampMsOfRaw(raw.type, raw.data);
      if (!within(cut, raw.position, stamp)) {
        final = true;
        break;
      }
      if (folded === this.maxFold) throw new FoldTooFarError(folded);
      if (foldedInBooks(raw.type)) state.apply(decodeEvent(raw));
      position = raw.position;
      if (stamp > stampMs) stampMs = stamp;
      // A slice of work done (a few milliseconds): let other requests in before the next.
      if (++folded % YIELD_EVERY === 0) await yieldToEventLoop();
    }
    return { state, position, stampMs: position ? stampMs : Number.NaN, final };
  }

  /** One lot as GET /parking-lots/{id} answered at the cut; null when it did not exist yet. */
  async parkingLot(parkingLotId: string, cut: Cut): Promise<AsOfView<ParkingLotDetail> | null> {
    return this.answers.answer(`lot:${parkingLotId}@${cutKey(cut)}`, async () => {
      const folded = lotFold(await this.lotsAt.at(parkingLotId, cut));
      const view = await this.ask(folded, cut, async (views) => views.lots.parkingLotDetail(parkingLotId));
      return { view, final: folded.final };
    });
  }

  /** Any view of one lot as it was at the cut (its timeline), `query` asked of its state then. */
  async lotView<T extends object>(
    parkingLotId: string,
    cut: Cut,
    query: (views: Views) => Promise<T | null>,
  ): Promise<AsOfView<T> | null> {
    return this.ask(lotFold(await this.lotsAt.at(parkingLotId, cut)), cut, query);
  }

  /** A page of the lot's reservations as its state held them at the cut; null before it was registered. */
  async lotReservations(
    parkingLotId: string,
    cut: Cut,
    query: Pick<ReservationQuery, "customerId" | "carNumber" | "status" | "cursor" | "limit">,
  ): Promise<AsOfView<PageOf<ReservationView>> | null> {
    const lot = await this.lotsAt.at(parkingLotId, cut);
    const nowMs = cut.kind === "instant" ? cut.ms : lot.stampMs;
    if (lot.state.kind !== "registered" || Number.isNaN(nowMs)) return null;
    return { ...heldReservations(lot.state, nowMs, query), asOf: stampOf(lot.position, nowMs) };
  }

  /** The control center (JSON) as it was at the cut: folded from its last book before it. */
  async controlCenter(
    cut: Cut,
    page: { readonly limit: number; readonly cursor?: string; readonly within?: LotReach },
  ): Promise<AsOfView<ControlCenterView>> {
    const key = `all@${cutKey(cut)}/${page.limit}/${page.cursor ?? ""}/${JSON.stringify(page.within ?? null)}`;
    const view = await this.answers.answer(key, async () => {
      const { books: stored } = this.options;
      const book = stored && (await lastBookBefore(stored, (b) => within(cut, b.position, b.stampMs)));
      const books = await this.foldFrom(book, cut);
      // Each lot up to the last event of the log the cut holds (as the whole log's fold would stop).
      const upTo: Cut = books.position ? { kind: "position", commit: books.position.commit } : cut;
      const documents: WriteOp[] = [];
      for (const [collection, { _id: parkingLotId }] of books.state.documents()) {
        if (collection !== foldCollection(REGISTERED_LOTS)) continue;
        // A member of staff scoped to lots sees only theirs (and no totals): no other lot is read.
        if (page.within && !reaches(page.within, parkingLotId)) continue;
        const { state } = await this.lotsAt.at(parkingLotId, upTo);
        if (state.kind === "registered") documents.push(...lotDocumentOf(state, foldCollection));
      }
      const joined: Folded = { ...books, state: books.state.joined(CONTROL_CENTER_READS, documents) };
      // Before the first fact the service was empty: a view too, as of the earliest instant.
      const view = await this.ask(joined, cut, (views) => views.controlCenter.controlCenter(page), {
        nothingFoldedMs: EARLIEST_MS,
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
    const { index } = this.options;
    if (!index)
      throw new Error("a reservation's facts are located by the reservation-events index: none was given");
    const location = { parkingLotId: where.parkingLotId, position: where.position.commit };
    const facts = (await reservationFacts(this.events, index, reservationId, location)).filter((raw) =>
      within(cut, raw.position, stampMsOfRaw(raw.type, raw.data)),
    );
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
      const lotsAt = options.lotsAt ?? cut;
      const lots = (id: string) => this.lotsAt.at(id, lotsAt);
      const views = readViews(store, { readYourWritesTimeoutMs: 0, now: () => nowMs, lots });
      const view = await query(views);
      if (!view) return null;
      return { ...view, asOf: stampOf(folded.position, nowMs) };
    } finally {
      await store.close();
    }
  }

  /** Forgets every lot state and answer kept: computed before an erasure, they hold its data. */
  forgetPersonalData(): void {
    this.lotsAt.forget();
    this.answers.clear();
  }

  /** What /metrics reports (`parking_time_travel_checkpoints` by kind: platform/metrics.ts). */
  metricsStats(): Readonly<Record<string, number>> {
    const stateBytes = this.lotsAt.keptBytes;
    return { bytes: stateBytes, state_bytes: stateBytes };
  }
}

/** The read models the control center reads (their checkpoints in its answer's `projections`). */
const CONTROL_CENTER_READS = [parkingLotsProjection, reservationsProjection, controlCenterProjection];

/** A lot's state at a moment as a fold the views are asked of: its document as the state holds it. */
function lotFold(lot: LotAt): Folded {
  const folded = new FoldState([parkingLotsProjection]);
  if (lot.state.kind === "registered") folded.write(lotDocumentOf(lot.state, foldCollection));
  return { state: folded, position: lot.position, stampMs: lot.stampMs, final: lot.final };
}

/** Which moment an answer reflects: the last event it read, and the instant it took as now. */
const stampOf = (position: Position | null, nowMs: number): AsOfStamp => ({
  position: position ? formatPosition(position) : null,
  at: new Date(nowMs).toISOString(),
});

/** Final answers kept (each one view of a lot or a page of the control center: a few KB). */
const FINAL_ANSWERS_KEPT = 256;

const cutKey = (cut: Cut): string => (cut.kind === "position" ? `p${cut.commit}` : `t${cut.ms}`);
