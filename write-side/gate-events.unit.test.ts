import { Value } from "@sinclair/typebox/value";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Identifier } from "../schemas/common.js";
import { gateStream } from "./gate-events.js";

// Identifiers as the API accepts them, with `-` drawn often: the character a naive join collides on.
const identifier = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/)
  .map((s) => s.replace(/[_.:]/g, "-"))
  .filter((s) => Value.Check(Identifier, s));

describe("a gate read's stream", () => {
  it("is its own for each (lot, read), however a `-` splits the two", () => {
    fc.assert(
      fc.property(identifier, identifier, identifier, (a, b, c) => {
        // Lot `a-b` reading `c`, and lot `a` reading `b-c`: two pairs a `-` join writes alike.
        expect(gateStream(`${a}-${b}`, c)).not.toBe(gateStream(a, `${b}-${c}`));
      }),
    );
    fc.assert(
      fc.property(identifier, identifier, identifier, identifier, (lotA, readA, lotB, readB) => {
        fc.pre(lotA !== lotB || readA !== readB);
        expect(gateStream(lotA, readA)).not.toBe(gateStream(lotB, readB));
      }),
    );
  });

  it("keeps apart lot A-1's read x and lot A's read 1-x (the pair a `-` join merged)", () => {
    expect(gateStream("A-1", "x")).not.toBe(gateStream("A", "1-x"));
  });
});
