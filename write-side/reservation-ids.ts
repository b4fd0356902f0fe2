import { createHmac } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/** The span of a keyed id's generation: a key is recognised for 24 to 48 hours (docs/api.md). */
export const KEY_GENERATION_MS = 24 * 3_600_000;

/**
 * The ids of a booking with an Idempotency-Key (one without takes a fresh UUIDv7): HMAC-SHA256s
 * under a server secret over lot, customer and key, shaped as UUIDs (version 8, RFC 9562), so a
 * retry by the same customer maps to the same reservation, nobody without the secret can predict an
 * id, and one customer's key never lands on another customer's booking. A new booking takes the id
 * of this day's generation (UTC days since the epoch); a retry is the booking of this generation's
 * id, of the previous one's, or of the id before generations, whichever the lot still holds. A lot
 * forgets what ended more than 25 hours before its period opened, so a key reused after that is a
 * new booking, under a new id: it never lands on a forgotten booking's id.
 */
export function keyedReservationIds(
  secret: string,
  parkingLotId: string,
  customerId: string,
  idempotencyKey: string,
  now: Date,
): { readonly reservationId: string; readonly sameRequestAs: readonly string[] } {
  const generation = Math.floor(now.getTime() / KEY_GENERATION_MS);
  const of = (g: number) => keyedId(secret, [parkingLotId, customerId, idempotencyKey, `generation ${g}`]);
  return {
    reservationId: of(generation),
    sameRequestAs: [of(generation - 1), keyedId(secret, [parkingLotId, customerId, idempotencyKey])],
  };
}

/**
 * A closure's id: with an Idempotency-Key, the HMAC of the lot and the key (any operator's retry of
 * the lot's closure finds it; the `closure` field keeps it apart from every reservation id), else
 * a fresh UUIDv7.
 */
export function closureIdFor(
  secret: string,
  parkingLotId: string,
  idempotencyKey: string | undefined,
): string {
  if (idempotencyKey === undefined) return uuidv7();
  return keyedId(secret, ["closure", parkingLotId, idempotencyKey]);
}

/** An HMAC-SHA256 of `fields` under `secret`, shaped as a version 8 UUID. */
function keyedId(secret: string, fields: readonly string[]): string {
  // Length-prefixed fields: no two lists of fields share an input.
  const input = fields.map((f) => `${Buffer.byteLength(f)}:${f}`).join("");
  const bytes = createHmac("sha256", secret).update(input).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80; // version 8 (custom)
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
