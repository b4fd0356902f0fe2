import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { NOT_BLANK_PATTERN } from "../platform/plain-text.js";
import { addFormat } from "../platform/validation.js";
import { PAYMENT_CURRENCIES } from "./currencies.js";
import { TIME_ZONE_NAME } from "./place.js";

/**
 * Building blocks shared by event, command and read-model schemas.
 * Every string has a length limit; identifiers are restricted to a URL- and query-safe
 * alphabet so that nothing operator-looking (`$gt`, `{}`) can ever reach a store.
 */

export const Identifier = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
  description: "Letters, digits and `_ . : -`, starting with a letter or digit; at most 64 characters.",
  examples: ["1", "CUST1"],
});

export const ParkingLotId = Type.String({
  ...Identifier,
  description: "Parking lot identifier.",
  examples: ["1"],
});
export const ReservationId = Type.String({ ...Identifier, description: "Reservation identifier." });
/**
 * A customer is whoever an identity provider says (a token's `sub`, or the configured claim):
 * opaque, any printable ASCII without spaces or commas, at most 255 characters as OpenID Connect
 * allows a `sub` to be (`auth0|…`, an e-mail address, a GUID). Encoded wherever it appears in a
 * path or query. (No comma: lot snapshots keep ids in comma-joined columns.)
 */
export const CustomerId = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: "^[\\x21-\\x2B\\x2D-\\x7E]+$",
  description:
    "Customer identifier: the identity provider's subject (or configured claim), opaque; printable ASCII without spaces or commas, at most 255 characters. Percent-encode it in a path.",
  examples: ["CUST1", "auth0|customer-7"],
});
export const CouponId = Type.String({ ...Identifier, description: "Coupon identifier." });

/** A display name: any script, not blank, at most 100 characters. */
export const LotName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: NOT_BLANK_PATTERN,
  description: "Display name of the lot; any script, not blank.",
  examples: ["강남 1주차장"],
});

/**
 * A plate's rule (the `car-number` format): a letter or digit of any script first, then letters,
 * digits, combining marks, spaces or hyphens, ending in a letter, digit or mark. Unicode's classes
 * have no portable pattern (JSON Schema validators outside JavaScript read `\p{…}` differently or
 * not at all), so the document states the rule in the format's description and the service checks
 * it with this expression.
 */
export const CAR_NUMBER = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} -]*[\p{L}\p{N}\p{M}]$/u;
/** The formats the service's schemas name beyond JSON Schema's own, and how each is checked. */
/** A part of a plate to search by (the `plate-fragment` format): plate characters, at least one not a space or hyphen. */
export const PLATE_FRAGMENT = /^[\p{L}\p{N}\p{M} -]*[\p{L}\p{N}\p{M}][\p{L}\p{N}\p{M} -]*$/u;
export const SERVICE_FORMATS: Readonly<Record<string, RegExp>> = {
  "car-number": CAR_NUMBER,
  "plate-fragment": PLATE_FRAGMENT,
  // Its shape: the service checks the name against the runtime's zones (schemas/place.ts).
  "time-zone": TIME_ZONE_NAME,
};
for (const [name, test] of Object.entries(SERVICE_FORMATS)) addFormat(name, test);

/**
 * A vehicle registration plate in any script: letters and digits, with inner spaces or
 * hyphens, 2 to 16 characters. Korean plates such as `10더8612` or `서울12가3456` are valid.
 */
export const CarNumber = Type.String({
  minLength: 2,
  maxLength: 16,
  format: "car-number",
  description:
    "Plate number (format `car-number`, checked by the service): a letter or digit of any script (Unicode L or N) first and a letter, digit or combining mark (M) last; between them letters, digits, marks, spaces or hyphens.",
  examples: ["10더8612", "서울12가3456", "AB-123-CD"],
});

export const Capacity = Type.Integer({
  minimum: 0,
  maximum: 100_000,
  description: "Number of spots; 0 registers a lot that takes no reservations.",
  examples: [5],
});

/**
 * The most one amount may be, in the currency's minor unit: what any event, answer or charge holds
 * (a check-out that would charge more is refused, write-side/parking-lot/reservation-steps.ts).
 */
export const MAX_AMOUNT = 100_000_000;

export const Amount = Type.Integer({
  minimum: 0,
  maximum: MAX_AMOUNT,
  description: "Price in the currency's minor unit (e.g. KRW).",
  examples: [5000],
});

/** An amount a client offers for a booking: a positive price (0 would be a free booking). */
export const OfferedAmount = Type.Integer({
  minimum: 1,
  maximum: MAX_AMOUNT,
  description:
    "Price in the currency's minor unit (e.g. KRW), at least 1. Required on a lot without an hourly rate; on a lot with one, a window's amount may be left out or must equal its quote (else 409 price-changed), and an open-ended booking's must be left out (it is priced at check-out).",
  examples: [5000],
});

export const HourlyRate = Type.Integer({
  minimum: 1,
  maximum: 1_000_000,
  description: "Price of one hour in the currency's minor unit; a window costs ceil(minutes x rate / 60).",
  examples: [3000],
});

export const MaxActivePerCustomer = Type.Integer({
  minimum: 1,
  maximum: 1000,
  default: 4,
  description: "Most active reservations one customer may hold in the lot at once (default 4).",
  examples: [4],
});

/**
 * What a coupon spent on a booking takes off its price (issue 47): a fixed amount (in the lot's
 * currency's minor unit) or a percentage (rounded down); never more than the price.
 */
export const CouponDiscount = Type.Union(
  [
    Type.Object(
      {
        amount: Type.Integer({
          minimum: 1,
          maximum: MAX_AMOUNT,
          description: "Taken off the booking's price (at most the price), in the minor unit.",
          examples: [1000],
        }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        percent: Type.Integer({
          minimum: 1,
          maximum: 100,
          description: "This percentage of the booking's price is taken off (rounded down).",
          examples: [10],
        }),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      "What a coupon spent on a booking of this lot (`couponId` in the booking) takes off its price: `{amount}` or `{percent}`. Absent: the lot takes no coupons.",
  },
);
export type CouponDiscount = Static<typeof CouponDiscount>;

/**
 * The lot's coupon rule: which stay keeps the coupon its booking got (issue 47: a booking issues
 * it, a stay shorter than this revokes it), and what a coupon spent here takes off.
 */
export const CouponRule = Type.Object(
  {
    minStayMinutes: Type.Integer({
      minimum: 0,
      maximum: 1440,
      description:
        "A stay of at least these minutes (check-in to check-out) keeps the coupon its booking got; a shorter one loses it (default 15).",
      examples: [15],
    }),
    minPaidAmount: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_AMOUNT,
        description:
          "A stay paid at least this much (booking price, stay price and overstay charge together, in the minor unit) keeps the coupon however short it was. Absent: only the stay's length counts.",
        examples: [3000],
      }),
    ),
    discount: Type.Optional(CouponDiscount),
  },
  {
    additionalProperties: false,
    description:
      "The lot's coupons: a booking makes its customer a coupon recipient; the stay keeps it when it lasted at least `minStayMinutes` or was paid at least `minPaidAmount` (absent: 15 minutes, no amount rule); a cancel, a no-show or a shorter stay revokes it. `discount`: what a coupon spent on a booking here takes off (absent: none).",
  },
);
export type CouponRule = Static<typeof CouponRule>;
/**
 * Issue 49: below this confidence a gate's read is not acted on (it goes to review). A lot's term,
 * 0..1; a lot that never set it uses DEFAULT_GATE_CONFIDENCE_THRESHOLD.
 */
export const GateConfidenceThreshold = Type.Number({
  minimum: 0,
  maximum: 1,
  description:
    "Below this camera confidence (0..1) a gate's plate read is not acted on: it goes to review (an attendant). Default 0.8.",
  examples: [0.8],
});
export const DEFAULT_GATE_CONFIDENCE_THRESHOLD = 0.8;

export const DEFAULT_COUPON_RULE: CouponRule = { minStayMinutes: 15 };

/** ISO 4217 alphabetic code of a lot's currency (upper case); amounts are in its minor unit. */
export const Currency = Type.String({
  pattern: "^[A-Z]{3}$",
  description:
    "ISO 4217 currency code (e.g. KRW, which has no minor unit; USD, whose minor unit is the cent).",
  examples: ["KRW"],
});
export const DEFAULT_CURRENCY = "KRW";

/**
 * Issue 71: the currency a lot's terms may name, one Stripe takes card payments in
 * (schemas/currencies.ts); the facts already stored keep `Currency`.
 */
export const PaymentCurrency = Type.Unsafe<string>({
  type: "string",
  enum: [...PAYMENT_CURRENCIES],
  description:
    "ISO 4217 code of a currency the payment provider (Stripe) takes card payments in; amounts are in its minor unit as Stripe counts it (KRW and JPY none, USD cents, KWD thousandths in steps of 10, ISK hundredths in steps of 100).",
  examples: ["KRW"],
});

/**
 * A saved payment method at the provider (Stripe's `pm_...`) a booking names (issue 38): confirmed
 * server-side, as apps with saved cards do. Personal: sealed under the customer's key.
 */
export const PaymentMethodId = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: "^[A-Za-z0-9_-]+$",
  description:
    "A saved payment method at the payment provider (Stripe: `pm_...`) to authorize the booking with, confirmed server-side.",
  examples: ["pm_card_visa"],
});

/** An object's id at the provider (Stripe's `pi_...`, `seti_...`, `re_...`), kept as the provider gave it. */
export const IntentId = Type.String({ minLength: 1, maxLength: 255, pattern: "^[A-Za-z0-9_-]+$" });

/** A fee or deposit in the currency's minor unit (0: none). */
const Fee = (description: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_AMOUNT, description, examples: [5000] });

/**
 * What a lot asks to be paid beside its rate (issue 38): the currency, the deposit an open-ended
 * booking authorizes (its price is known at check-out only), the cancellation policy of a
 * customer's cancel, and the fee a no-show pays. Amounts in the currency's minor unit.
 */
export const PaymentTerms = Type.Object(
  {
    currency: Currency,
    deposit: Fee("What an open-ended booking authorizes at booking (its price is captured at check-out)."),
    cancellation: Type.Object(
      {
        freeUntilMinutesBefore: Type.Integer({
          minimum: 0,
          maximum: 43_200,
          description:
            "A customer's cancel up to this many minutes before startsAt is free (a full release).",
          examples: [60],
        }),
        feePercent: Type.Integer({
          minimum: 0,
          maximum: 100,
          description:
            "Later, this percentage of the authorized amount is captured (rounded down) and the rest released.",
          examples: [50],
        }),
      },
      { additionalProperties: false },
    ),
    noShowFee: Fee("Captured when a window ends without a check-in (at most what was authorized)."),
  },
  { additionalProperties: false },
);
export type PaymentTerms = Static<typeof PaymentTerms>;
/** A lot's terms until it states its own: KRW, no deposit, no fee, cancel free until the start. */
export const DEFAULT_PAYMENT_TERMS: PaymentTerms = {
  currency: DEFAULT_CURRENCY,
  deposit: 0,
  cancellation: { freeUntilMinutesBefore: 0, feePercent: 0 },
  noShowFee: 0,
};

/** An instant as a client sends it: RFC 3339 with an explicit offset (`Z` or `+09:00`). */
export const Instant = Type.String({
  format: "date-time",
  maxLength: 40,
  pattern: "(Z|z|[+-][0-9]{2}:[0-9]{2})$",
  description: "RFC 3339 date-time with an offset (e.g. `2026-11-23T10:00:00+09:00`); stored in UTC.",
  examples: ["2026-11-23T10:00:00+09:00"],
});

export const Reason = Type.String({ minLength: 1, maxLength: 200, description: "Why it was canceled." });

export const Timestamp = Type.String({
  format: "date-time",
  maxLength: 40,
  description: "ISO 8601 UTC timestamp.",
});

/** Global log position as a decimal string (positions can exceed what JSON numbers carry safely). */
export const PositionString = Type.String({
  pattern: "^[0-9]{1,20}$",
  description: "Global position in the event log (decimal string).",
  examples: ["42"],
});

/** How many items a page holds, for every paged query. */
export const PageLimit = Type.Integer({
  minimum: 1,
  maximum: 1000,
  description: "Page size, 1–1000 (default 50).",
  examples: [20],
});

/**
 * Marks a property of an event as personal data (issue 36): the event codec stores it sealed with
 * the data key of the event's `customerId` (schemas/personal-data.ts), and once that customer is
 * erased every reader sees `erased` in its place. The schema must accept the string `erased`
 * (schemas/personal-data.unit.test.ts checks every marked one). Mark a new contact field the same way.
 */
export function Personal<T extends TSchema>(schema: T): T {
  return { ...schema, "x-personal": true };
}
