import { describe, expect, it } from "vitest";
import type { ReservationView } from "./src/api.js";
import { countsOf, describeClosure, previewClosure } from "./src/closure-preview.js";

const T = (hhmm: string) => Date.parse(`2026-11-25T${hhmm}:00.000Z`);
const iso = (hhmm: string) => new Date(T(hhmm)).toISOString();
let n = 0;
const reservation = (fields: Partial<ReservationView>): ReservationView => ({
  reservationId: `r-${++n}`,
  parkingLotId: "gangnam-1",
  customerId: "CUST1",
  carNumber: "10더8612",
  amount: 1000,
  status: "RESERVED",
  reservedAt: iso("08:00"),
  position: "1",
  ...fields,
});

describe("the preview of a closure", () => {
  const overlapping = reservation({ startsAt: iso("10:00"), endsAt: iso("11:00") });
  const before = reservation({ startsAt: iso("08:00"), endsAt: iso("10:00") });
  const openEnded = reservation({ reservedAt: iso("08:30") });
  const inLot = reservation({ status: "CHECKED_IN", startsAt: iso("09:00"), endsAt: iso("10:30") });
  const canceled = reservation({ status: "CANCELED", startsAt: iso("10:00"), endsAt: iso("11:00") });
  const all = [overlapping, before, openEnded, inLot, canceled];

  it("cancels now the windows it overlaps that are still reserved; open-ended bookings when it begins", () => {
    const preview = previewClosure(all, T("10:00"), T("12:00"), T("09:00"));
    expect(preview.beginsAt).toBe(T("10:00"));
    expect(preview.canceledNow).toEqual([overlapping]);
    expect(preview.canceledWhenItBegins).toEqual([openEnded]);
    expect(preview.carsInLot).toEqual([inLot]);
  });

  it("begins now when its start is past: open-ended bookings are canceled at once too", () => {
    const preview = previewClosure(all, T("08:30"), T("12:00"), T("09:00"));
    expect(preview.beginsAt).toBe(T("09:00"));
    expect(preview.canceledNow.map((r) => r.reservationId)).toEqual([
      before.reservationId,
      openEnded.reservationId,
      overlapping.reservationId,
    ]);
    expect(preview.canceledWhenItBegins).toEqual([]);
  });

  it("words a preview and a result alike: the result with the service's count of what it canceled", () => {
    const preview = previewClosure(all, T("10:00"), T("12:00"), T("09:00"));
    const previewed = describeClosure(countsOf(preview));
    expect(previewed).toBe(
      "1 reservation canceled now, 1 open-ended booking canceled when it begins unless checked in, 1 car in the lot not canceled",
    );
    // The service canceled what the preview said: the same words.
    expect(describeClosure({ ...countsOf(preview), canceledNow: 1 })).toBe(previewed);
    // It canceled more (a booking made meanwhile): the count says so, in the same words.
    expect(describeClosure({ ...countsOf(preview), canceledNow: 2 })).toMatch(
      /^2 reservations canceled now, /,
    );
  });
});
