import { createHash } from "node:crypto";
import type { Near } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { GeoPoint } from "../../platform/geo.js";
import { LOT_POINT, PARKING_LOTS } from "../../projections/read-models/parking-lots.js";
import { quote } from "../../schemas/pricing.js";
import type { ParkingLotListItem } from "../../schemas/read-models.js";
import { quoteWindow } from "../../write-side/parking-lot/booking.js";
import type { LotQueries } from "./lot-view.js";
import type { PageOf, ReadContext } from "./read-context.js";
import { type StoredLot, strip } from "./rules.js";

/**
 * Find a spot: the lots within a radius with a spot free for the window, nearest or cheapest first,
 * each candidate asked the decider's own quote. The walk stops after WALK_PER_ITEM candidates per
 * item asked (at least MIN_WALK), with a cursor, so a page's cost is bounded by its size, not by
 * how many lots are around.
 */

/** The most lots a search page holds (a larger `limit` is read as this). */
export const MAX_SEARCH_PAGE = 100;
/** Candidates quoted per item of the page asked for, at most (full lots are skipped over). */
const WALK_PER_ITEM = 5;
const MIN_WALK = 50;
/** `sort=price` ranks the nearest PRICE_CANDIDATES lots by their stored rate's price, then quotes them. */
export const PRICE_CANDIDATES = 1_000;

export interface LotSearch {
  readonly near: GeoPoint;
  readonly radiusMeters: number;
  readonly from: number;
  readonly until: number;
  readonly sort: "distance" | "price";
  readonly limit: number;
  readonly cursor?: string;
  readonly minPosition: Position | null;
}

/** Where a page ended, and the search's terms hashed (`q`), so a cursor is refused by any other search. */
interface Cursor {
  readonly p?: number | null;
  readonly d: number;
  readonly i: string;
  readonly q: string;
}

/** The terms a cursor belongs to: the point, radius, window and sort (not the page size). */
const termsOf = (search: LotSearch): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        search.sort,
        search.near.latitude,
        search.near.longitude,
        search.radiusMeters,
        search.from,
        search.until,
      ]),
    )
    .digest("base64url")
    .slice(0, 8);

export class InvalidSearchCursor extends Error {}

const encode = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
function decode(text: string, terms: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Cursor;
    const priceOk = value.p === undefined || value.p === null || Number.isFinite(value.p);
    const distanceOk = typeof value.d === "number" && Number.isFinite(value.d) && value.d >= 0;
    if (distanceOk && typeof value.i === "string" && priceOk && value.q === terms) return value;
  } catch {
    // refused below
  }
  throw new InvalidSearchCursor("cursor is not one this search answered");
}

type Candidate = Near<StoredLot & { _id: string }> & { readonly price?: number | null };

export class LotSearchQueries {
  constructor(
    private readonly ctx: ReadContext,
    private readonly lots: LotQueries,
  ) {}

  async search(search: LotSearch): Promise<PageOf<ParkingLotListItem>> {
    await this.lots.awaitLot(search.minPosition);
    const limit = Math.min(search.limit, MAX_SEARCH_PAGE);
    const walk = Math.max(MIN_WALK, limit * WALK_PER_ITEM);
    const terms = termsOf(search);
    const cursor = search.cursor === undefined ? undefined : decode(search.cursor, terms);
    const candidates =
      search.sort === "price"
        ? this.byPrice(search, cursor)
        : this.byDistance(search, cursor, Math.min(limit + 8, walk));
    const items: ParkingLotListItem[] = [];
    let last: Cursor | undefined;
    let examined = 0;
    for await (const candidate of candidates) {
      examined++;
      const item = await this.found(candidate, search);
      last = {
        ...(search.sort === "price" ? { p: candidate.price ?? null } : {}),
        d: candidate.distanceMeters,
        i: candidate.document._id,
        q: terms,
      };
      if (item) items.push(item);
      if (items.length >= limit || examined >= walk) return { items, nextCursor: encode(last) };
    }
    return { items, nextCursor: null };
  }

  /** The candidates nearest first from the cursor on, read a batch at a time from the geo index. */
  private async *byDistance(
    search: LotSearch,
    cursor: Cursor | undefined,
    batch: number,
  ): AsyncGenerator<Candidate> {
    const collection = await this.ctx.collection(PARKING_LOTS);
    let after = cursor ? { distanceMeters: cursor.d, id: cursor.i } : undefined;
    for (;;) {
      const page = await this.ctx.store.findNear<StoredLot & { _id: string }>(collection, {
        field: LOT_POINT,
        ...search.near,
        maxDistanceMeters: search.radiusMeters,
        limit: batch,
        ...(after ? { after } : {}),
      });
      yield* page;
      const end = page.at(-1);
      if (end === undefined || page.length < batch) return;
      after = { distanceMeters: end.distanceMeters, id: end.document._id };
    }
  }

  /** The nearest PRICE_CANDIDATES, cheapest window first by their stored rate (no rate: last), from the cursor on. */
  private async *byPrice(search: LotSearch, cursor: Cursor | undefined): AsyncGenerator<Candidate> {
    const collection = await this.ctx.collection(PARKING_LOTS);
    const near = await this.ctx.store.findNear<StoredLot & { _id: string }>(collection, {
      field: LOT_POINT,
      ...search.near,
      maxDistanceMeters: search.radiusMeters,
      limit: PRICE_CANDIDATES,
    });
    const ranked = near
      .map((n) => ({
        ...n,
        price:
          n.document.hourlyRate === undefined
            ? null
            : quote(n.document.hourlyRate, search.from, search.until),
      }))
      .sort(byPrice);
    const after = cursor && {
      price: cursor.p ?? null,
      distanceMeters: cursor.d,
      document: { _id: cursor.i },
    };
    const start = after ? ranked.findIndex((c) => byPrice(c, after) > 0) : 0;
    if (start < 0) return;
    yield* ranked.slice(start);
  }

  /** The lot as listed with the window's terms, or undefined when the quote refuses it or finds it full. */
  private async found(candidate: Candidate, search: LotSearch): Promise<ParkingLotListItem | undefined> {
    const now = this.ctx.now();
    const held = await this.lots.states.timeline(candidate.document._id, now);
    if (!held) return undefined;
    const quoted = quoteWindow(held.lot, { from: search.from, until: search.until, now }, held.timeline.peak);
    if ("code" in quoted || quoted.free <= 0) return undefined;
    const view = this.lots.viewOf(strip<StoredLot>(candidate.document) as StoredLot, held, now);
    return {
      ...view,
      distanceMeters: Math.round(candidate.distanceMeters),
      price: quoted.amount,
      windowAvailableSpots: quoted.free,
    };
  }
}

/** Cheapest window first (no rate: last), then nearest, then by id: the price order and its cursor's. */
function byPrice(
  a: { price?: number | null; distanceMeters: number; document: { _id: string } },
  b: { price?: number | null; distanceMeters: number; document: { _id: string } },
): number {
  const [ida, idb] = [a.document._id, b.document._id];
  const price = (a.price ?? Number.POSITIVE_INFINITY) - (b.price ?? Number.POSITIVE_INFINITY);
  return price || a.distanceMeters - b.distanceMeters || (ida < idb ? -1 : ida > idb ? 1 : 0);
}
