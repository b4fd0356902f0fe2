import { describe, expect, it } from "vitest";
import { carNumber, lotId, lotIds, seededReservationId } from "./domain.js";

/** The bench's domain data: every load scenario registers lotIds(n) before it measures anything. */
describe("bench domain data", () => {
  it("lotIds(n) are the ids of lots 1 to n, as lotId names them", () => {
    expect(lotIds(3)).toEqual(["lot-0001", "lot-0002", "lot-0003"]);
    expect(lotIds(1000)).toHaveLength(1000);
    expect(new Set(lotIds(1000)).size).toBe(1000);
    expect(lotIds(1000).at(-1)).toBe(lotId(1000));
  });

  it("plates and seeded reservation ids are distinct per index and well-formed", () => {
    expect(carNumber(0)).toMatch(/^\d{2}\p{Script=Hangul}\d{4}$/u);
    expect(seededReservationId(255)).toBe("01900000-0000-7000-8000-0000000000ff");
  });
});
