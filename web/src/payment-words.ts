import type { ReservationView } from "./api.js";
import { money } from "./format.js";

/** A paid booking's payment, as the reservation view carries it (absent when payments are off). */
export type Payment = NonNullable<ReservationView["payment"]>;

/** The payment in words, from the view's figures only: what it holds, captured, refunded, released. */
export function paymentWords(p: Payment): string {
  const cur = ` ${p.currency}`;
  switch (p.state) {
    case "pending":
      return "pending payment";
    case "authorized":
      return `authorized ${money(p.authorized)}${cur}`;
    case "captured":
    case "refunded":
      return `captured ${money(p.captured)}${p.refunded ? ` · refunded ${money(p.refunded)}` : ""}${cur}`;
    case "released":
      return `released ${money(p.released)}${cur}`;
    case "failed":
      return "payment failed";
  }
}
