import { describe, expect, it } from "vitest";
import { abbreviationOf, clockOf } from "./src/format.js";

const at = (iso: string) => Date.parse(iso);

describe("the lot's clock on the page (issue 49)", () => {
  it("names each zone by the abbreviation people use, its offset where none is known", () => {
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "Asia/Seoul")).toBe("KST");
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "Asia/Tokyo")).toBe("JST");
    expect(abbreviationOf(at("2026-07-01T12:00:00Z"), "America/New_York")).toBe("EDT");
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "America/New_York")).toBe("EST");
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "Europe/Berlin")).toBe("CET");
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "Asia/Kolkata")).toBe("IST");
    expect(abbreviationOf(at("2026-11-26T12:00:00Z"), "UTC")).toBe("UTC");
  });

  it("shows instants on the lot's wall clock, whatever the browser's zone", () => {
    const seoul = clockOf("Asia/Seoul");
    expect(seoul.hour("2026-11-26T06:30:00Z")).toMatch(/^15:30 KST$/);
    expect(seoul.when("2026-11-26T15:04:05Z")).toMatch(/27.*00:04:05 KST$/);
    expect(seoul.range("2026-11-26T01:00:00Z", "2026-11-26T03:00:00Z")).toMatch(/10:00 – 12:00 KST$/);
    const ny = clockOf("America/New_York");
    // Across the fall-back hour, each end carries its own abbreviation.
    expect(ny.range("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z")).toMatch(/01:30 EDT – 01:30 EST$/);
  });

  it("reads what an operator types as the lot's wall clock, across daylight saving", () => {
    const ny = clockOf("America/New_York");
    expect(new Date(ny.fromInput("2026-03-08T01:30")).toISOString()).toBe("2026-03-08T06:30:00.000Z");
    expect(new Date(ny.fromInput("2026-03-08T03:30")).toISOString()).toBe("2026-03-08T07:30:00.000Z");
    expect(new Date(ny.fromInput("2026-11-01T23:30")).toISOString()).toBe("2026-11-02T04:30:00.000Z");
    expect(ny.toInput(at("2026-11-02T04:30:00Z"))).toBe("2026-11-01T23:30");
    expect(clockOf("Asia/Seoul").toInput(at("2026-11-26T15:00:00Z"))).toBe("2026-11-27T00:00");
    expect(new Date(clockOf("Asia/Seoul").fromInput("2026-11-27T00:00")).toISOString()).toBe(
      "2026-11-26T15:00:00.000Z",
    );
  });
});
