import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryDocumentStore } from "../document-store/memory/memory-document-store.js";
import { PLATE_SUFFIXES, reservationsProjection } from "../projections/read-models/reservations.js";
import { newestPlateMatches } from "../read-api/views/plate-search.js";
import type { ReadContext } from "../read-api/views/read-context.js";
import { CarNumber } from "./common.js";
import { fragmentRange, PlateFragment, plateForm, plateSuffixes, searchableFragment } from "./plates.js";
import { validate } from "./validation.js";

/**
 * Hunt (gates, plates): the plate normal form and the fragment search against brute-force oracles.
 * SPEC: "Car numbers are real plates and may be Korean: Unicode is valid input"; "Gates: … checks a
 * booked car in or out" (the same physical plate must find its booking); docs/api.md: a fragment
 * finds every reservation whose plate holds it; "A role sees the same fields live and as of a past
 * moment" (as-of reads fold into the memory document store).
 */

const valid = (schema: typeof CarNumber | typeof PlateFragment, value: string): boolean => {
  try {
    validate(schema, value.normalize("NFC")); // the HTTP layer NFC-normalizes every string first
    return true;
  } catch {
    return false;
  }
};

/** Korean-shaped plates: 2-3 digits, a Hangul syllable, 4 digits; optionally a region prefix. */
const region = fc.constantFrom("", "서울", "부산", "경기");
const hangul = fc.constantFrom("가", "나", "다", "더", "허", "호", "배", "거");
const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n });
const koreanPlate = fc
  .tuple(region, digits(2), hangul, digits(4))
  .map(([r, a, h, b]) => `${r}${a.join("")}${h}${b.join("")}`);

/** How a person or a camera may write one physical plate. */
const fullWidth = (s: string) =>
  s.replace(/[0-9A-Za-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const spaced = (s: string) => [...s].join(" ");

describe("one physical plate has one form", () => {
  it("spaces, hyphens, NFD: the same form (the documented normal form)", () => {
    fc.assert(
      fc.property(koreanPlate, (plate) => {
        for (const written of [spaced(plate), [...plate].join("-"), plate.normalize("NFD")])
          expect(plateForm(written)).toBe(plateForm(plate));
      }),
    );
  });

  it("full-width digits (a Korean/Japanese IME's full-width mode): accepted as a plate, and the same form", () => {
    fc.assert(
      fc.property(koreanPlate, (plate) => {
        const typed = fullWidth(plate);
        expect(valid(CarNumber, typed)).toBe(true);
        expect(plateForm(typed)).toBe(plateForm(plate));
      }),
    );
  });

  it("two different plates never share a form", () => {
    expect(valid(CarNumber, "ß12") && valid(CarNumber, "SS12")).toBe(true);
    expect(plateForm("ß12")).not.toBe(plateForm("SS12"));
  });
});

// ---------------------------------------------------------------------------------------------
// Fragment search: the suffix index against `plateForm(plate).includes(plateForm(fragment))`.

/** Plate characters, with the ones that sort differently in UTF-16 and in code points drawn often. */
const plateChar = fc.constantFrom(
  ..."0123456789AB가나더",
  "１", // U+FF11 FULLWIDTH DIGIT ONE: above the surrogates in UTF-16 units
  "Ａ",
  "𝐀", // U+1D400: a surrogate pair
);
const plateArb = fc
  .array(plateChar, { minLength: 2, maxLength: 10 })
  .map((cs) => cs.join(""))
  .filter((p) => valid(CarNumber, p));
const fragmentArb = fc
  .tuple(fc.array(plateChar, { minLength: 1, maxLength: 4 }), fc.constantFrom("", " ", "-"))
  .map(([cs, sep]) => cs.join("") + sep)
  .filter((f) => valid(PlateFragment, f));

const contains = (plate: string, fragment: string) => plateForm(plate).includes(plateForm(fragment));

/** The range as MongoDB and SQLite compare strings: by code point (UTF-8 bytes). */
const byCodePoint = (a: string, b: string): number => {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++)
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
};
const inRange = (suffix: string, range: { $gte: string; $lt: string }) =>
  byCodePoint(suffix, range.$gte) >= 0 && byCodePoint(suffix, range.$lt) < 0;

describe("a fragment finds exactly the plates that hold it", () => {
  it("the suffixes' prefix range (code-point order, as MongoDB/SQLite) agrees with the oracle", () => {
    fc.assert(
      fc.property(plateArb, fragmentArb, (plate, fragment) => {
        // A fragment of one character once spaces and hyphens are ignored is refused (400).
        if (!searchableFragment(fragment)) return;
        const found = plateSuffixes(plate).some((s) => inRange(s, fragmentRange(fragment)));
        expect(found, `${plate} ~ ${JSON.stringify(fragment)}`).toBe(contains(plate, fragment));
      }),
      { numRuns: 2000 },
    );
  });

  it("a fragment whose form is one character (`B-`: 2 characters as sent) is refused, or finds every plate holding it", () => {
    expect(valid(PlateFragment, "B-")).toBe(true);
    expect(contains("0B", "B-")).toBe(true);
    if (searchableFragment("B-"))
      expect(plateSuffixes("0B").some((s) => inRange(s, fragmentRange("B-")))).toBe(true);
  });

  it("the as-of store (memory, which time travel folds into) finds what the live one does", async () => {
    const longFragment = fragmentArb.filter((f) => [...plateForm(f)].length >= 2);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(plateArb, { minLength: 1, maxLength: 8 }),
        longFragment,
        async (plates, fragment) => {
          const store = new MemoryDocumentStore();
          await store.ensureIndexes(PLATE_SUFFIXES, reservationsProjection.collections[PLATE_SUFFIXES] ?? []);
          await store.write(
            plates.flatMap((plate, seq) =>
              plateSuffixes(plate).map((suffix, i) => ({
                op: "replace" as const,
                collection: PLATE_SUFFIXES,
                id: `r${seq}~${i}`,
                document: {
                  suffix,
                  reservationId: `r${seq}`,
                  parkingLotId: "L",
                  customerId: "C",
                  seq: seq + 1,
                },
              })),
            ),
          );
          const ctx = { store, collection: async (name: string) => name } as unknown as ReadContext;
          const found = (await newestPlateMatches(ctx, fragment, {}, 100)).map(
            (m) => plates[Number(m.reservationId.slice(1))],
          );
          const expected = plates.filter((p) => contains(p, fragment));
          expect(new Set(found), `${JSON.stringify(plates)} ~ ${JSON.stringify(fragment)}`).toEqual(
            new Set(expected),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Erasure: "erasing a customer deletes the key, and every view … afterwards shows `erased`".

describe("an erased customer's plate suffixes all go", () => {
  it("whatever the plate's form, none of its suffix documents is left", () => {
    type Op = { op: string; id?: string; collection?: string };
    const apply = (stored: unknown): readonly Op[] =>
      reservationsProjection.apply(
        stored as Parameters<typeof reservationsProjection.apply>[0],
        (n) => n,
      ) as readonly Op[];
    for (const carNumber of ["10더8612", "ßßßßßßßßßßßßßßßß", "ŉŉŉŉŉŉŉŉŉŉŉŉŉŉŉŉ"]) {
      expect(valid(CarNumber, carNumber)).toBe(true);
      const reserved = apply({
        event: {
          type: "ParkingReserved",
          data: {
            reservationId: "R1",
            parkingLotId: "L",
            customerId: "C",
            carNumber,
            amount: 1,
            reservedAt: "2026-11-26T09:00:00.000Z",
          },
        },
        position: { commit: 1, prepare: 1 },
      });
      const erased = apply({
        event: {
          type: "CustomerErased",
          data: {
            subject: "C",
            reservationIds: ["R1"],
            parkingLotIds: ["L"],
            erasedAt: "2026-11-27T09:00:00.000Z",
          },
        },
        position: { commit: 2, prepare: 2 },
      });
      const written = new Set(reserved.filter((o) => o.collection === PLATE_SUFFIXES).map((o) => o.id));
      for (const o of erased) if (o.op === "delete" && o.collection === PLATE_SUFFIXES) written.delete(o.id);
      expect([...written], carNumber).toEqual([]);
    }
  });
});
