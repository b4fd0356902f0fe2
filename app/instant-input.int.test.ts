import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readInstant } from "../platform/instant.js";
import { bearer, mintToken } from "../test-support/auth.js";
import { call, type JsonResponse, startTestService, tempDataDir } from "../test-support/service.js";
import type { RunningService } from "./server.js";

/**
 * Hunt (instants) over HTTP, one in-process service: every route that takes a caller's instant
 * (a booking's window, a closure, a gate read, the availability quote, the search, the timeline,
 * the audit trail, `asOf`) reads it as platform/instant.ts does, in every shape RFC 3339 allows
 * (`t`, `z`, a space, any offset, any number of fraction digits, the years 0000-9999, leap
 * seconds): the same millisecond, or a 400 naming the field. SPEC "Qualities": bad input gets a
 * clear 4xx problem, never a 500, never a stray event.
 *
 * Before one reading, Date.parse read `0001-03-01 00:00:00Z` as 2001-01-03 and `…:02.0271234567Z`
 * as `…:02.271Z`, a leap second on the timeline answered 500 and on the history was ignored, and a
 * timeline from 9999-12-31 answered instants of the year 10000.
 */
const RUNS = Number(process.env.INSTANT_HTTP_RUNS ?? 20);

let service: RunningService;
let data: { dir: string; remove: () => void };
let base: string;
const headers: Record<string, Record<string, string>> = {};
const LOT = "INSTANTS-1";

beforeAll(async () => {
  data = tempDataDir("instant-input-");
  service = await startTestService(data.dir);
  base = service.url;
  headers.admin = bearer(await mintToken(data.dir, { sub: "ops-admin", role: "admin" }));
  headers.customer = bearer(await mintToken(data.dir, { sub: "CUST-I", role: "customer" }));
  const made = await call(
    base,
    "POST",
    "/parking-lots",
    {
      parkingLotId: LOT,
      name: LOT,
      capacity: 100_000,
      hourlyRate: 3000,
      maxActivePerCustomer: 1000,
      location: { latitude: 37.5, longitude: 127 },
    },
    headers.admin,
  );
  expect(made.status).toBe(201);
});
afterAll(async () => {
  await service?.shutdown("test done");
  data?.remove();
});

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** How an instant is written: separator, zone, extra fraction digits. */
const shape = fc.record({
  separator: fc.constantFrom("T", "t", " "),
  zone: fc.oneof(
    fc.constantFrom("Z", "z", "-00:00"),
    fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  ),
  extraDigits: fc.stringMatching(/^[0-9]{0,14}$/),
  dropMillis: fc.boolean(),
});

/** `ms` written in `s`'s shape (its wall clock at the zone's offset). */
type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;
function written(ms: number, s: Shape): string {
  const offset = typeof s.zone === "number" ? s.zone : 0;
  const wall = new Date(ms + offset * 60_000).toISOString();
  const zone =
    typeof s.zone === "string"
      ? s.zone
      : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const millis = s.dropMillis && wall.slice(20, 23) === "000" ? "" : `.${wall.slice(20, 23)}${s.extraDigits}`;
  return `${wall.slice(0, 10)}${s.separator}${wall.slice(11, 19)}${millis}${zone}`;
}

/** Instants a booking may name (10 minutes to 10 days ahead), in any shape (often a millisecond below 100). */
const nearInstant = fc
  .tuple(
    fc.integer({ min: 10, max: 10 * 24 * 60 }),
    fc.oneof(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 59_999 })),
    shape,
  )
  .map(([minutes, ms, s]) => written(Date.now() + minutes * 60_000 + ms, s));

/** Any text of the instant's shape: any year, day of a month (some the calendar lacks), leap seconds. */
const anyInstant = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.oneof(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
    fraction: fc.stringMatching(/^(\.[0-9]{1,15})?$/),
    separator: fc.constantFrom("T", "t", " "),
    zone: fc.oneof(
      fc.constantFrom("Z", "z"),
      fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })),
    ),
  })
  .map(
    (p) =>
      `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${
        typeof p.zone === "string" ? p.zone : `${p.zone[0]}${pad(p.zone[1])}:${pad(p.zone[2])}`
      }`,
  );

/** A leap second the schema's format lets through: 23:59:60 in UTC, at any whole-hour offset. */
const leapSecond = fc
  .tuple(fc.integer({ min: 2000, max: 9998 }), fc.integer({ min: -12, max: 14 }))
  .map(([year, hours]) => {
    const zone = hours === 0 ? "Z" : `${hours < 0 ? "-" : "+"}${pad(Math.abs(hours))}:00`;
    return `${year}-06-30T${pad((23 + hours + 24) % 24)}:59:60${zone}`;
  });

const EDGES = [
  "0000-01-01T00:00:00Z",
  "0000-01-01T00:30:00+01:00",
  "9999-12-31T23:59:59-23:59",
  "9999-12-31T12:00:00Z",
  "2026-12-31T23:59:60Z",
  "2027-01-01T08:59:60+09:00",
  "0001-03-01 00:00:00Z",
  "0026-06-01 10:00:00Z",
];

/** What the schema's date-time format says of what it refuses itself (platform/validation.ts). */
const SCHEMA_MESSAGE = "must be an RFC 3339 date and time with an offset, e.g. 2026-11-23T10:00:00+09:00";
const q = encodeURIComponent;
const soon = () => new Date(Date.now() + 2 * 3_600_000).toISOString();
let reads = 0;

/** Each route that takes an instant, sent `text` in one field (`other`: its partner's value). */
const ROUTES: readonly {
  readonly field: string;
  /** Where a 2xx answer says how the instant was read. */
  readonly echo?: (body: Record<string, unknown>) => unknown;
  readonly send: (text: string) => Promise<JsonResponse>;
}[] = [
  {
    field: "body.startsAt",
    echo: (b) => b.startsAt,
    send: (text) =>
      call(
        base,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber: "12가3456", startsAt: text, endsAt: new Date(readMs(text) + 3_600_000).toISOString() },
        headers.customer,
      ),
  },
  {
    field: "body.endsAt",
    echo: (b) => b.endsAt,
    send: (text) =>
      call(
        base,
        "POST",
        `/parking-lots/${LOT}/reservations`,
        { carNumber: "12가3456", startsAt: new Date(readMs(text) - 3_600_000).toISOString(), endsAt: text },
        headers.customer,
      ),
  },
  {
    field: "body.from",
    send: (text) =>
      call(
        base,
        "POST",
        `/parking-lots/${LOT}/closures`,
        { from: text, until: "0000-01-01T00:00:00Z", reason: "hunt" },
        headers.admin,
      ),
  },
  {
    field: "body.until",
    send: (text) =>
      call(
        base,
        "POST",
        `/parking-lots/${LOT}/closures`,
        { from: "9999-12-31T00:00:00Z", until: text, reason: "hunt" },
        headers.admin,
      ),
  },
  {
    field: "body.at",
    send: (text) =>
      call(
        base,
        "POST",
        `/parking-lots/${LOT}/gate-events`,
        {
          eventId: `cam-${++reads}`,
          gateId: "g",
          direction: "entry",
          plate: "99가9999",
          confidence: 0.1,
          at: text,
        },
        headers.admin,
      ),
  },
  {
    field: "query.from",
    echo: (b) => b.from,
    send: (text) =>
      call(
        base,
        "GET",
        `/parking-lots/${LOT}/availability?from=${q(text)}&until=${q(plusHour(text))}`,
        undefined,
        headers.admin,
      ),
  },
  {
    field: "query.until",
    echo: (b) => b.until,
    send: (text) =>
      call(
        base,
        "GET",
        `/parking-lots/${LOT}/availability?from=${q(minusHour(text))}&until=${q(text)}`,
        undefined,
        headers.admin,
      ),
  },
  {
    field: "query.from",
    send: (text) =>
      call(
        base,
        "GET",
        `/parking-lots?near=37.5,127&radiusMeters=1000&from=${q(text)}&until=${q(plusHour(text))}`,
        undefined,
        headers.admin,
      ),
  },
  {
    field: "query.from",
    echo: (b) => b.from,
    send: (text) =>
      call(base, "GET", `/parking-lots/${LOT}/timeline?from=${q(text)}&step=60`, undefined, headers.admin),
  },
  {
    field: "query.until",
    echo: (b) => b.until,
    send: (text) =>
      call(base, "GET", `/parking-lots/${LOT}/timeline?until=${q(text)}&step=60`, undefined, headers.admin),
  },
  {
    field: "query.from",
    send: (text) =>
      call(base, "GET", `/parking-lots/${LOT}/history?from=${q(text)}&limit=1`, undefined, headers.admin),
  },
  {
    field: "query.until",
    send: (text) =>
      call(base, "GET", `/parking-lots/${LOT}/history?until=${q(text)}&limit=1`, undefined, headers.admin),
  },
];

/** The partner instant of a pair: an hour from the text's own reading (now when it has none). */
function readMs(text: string): number {
  const read = readInstant(text);
  return "ms" in read ? read.ms : Date.parse(soon());
}
const plusHour = (text: string) =>
  new Date(Math.min(readMs(text) + 3_600_000, Date.parse("9999-12-31T23:00:00Z"))).toISOString();
const minusHour = (text: string) => new Date(Math.max(readMs(text) - 3_600_000, 0)).toISOString();

/** Every instant of an answer: a UTC Timestamp of a four-digit year. */
function instantsOf(value: unknown, into: string[] = []): string[] {
  if (typeof value === "string" && /^[+-]?\d{4,6}-\d{2}-\d{2}T/.test(value)) into.push(value);
  else if (Array.isArray(value)) for (const item of value) instantsOf(item, into);
  else if (typeof value === "object" && value !== null)
    for (const item of Object.values(value)) instantsOf(item, into);
  return into;
}

async function checkEveryRoute(text: string): Promise<void> {
  const read = readInstant(text);
  for (const route of ROUTES) {
    const answer = await route.send(text);
    const where = `${route.field} = ${JSON.stringify(text)}: ${answer.status} ${JSON.stringify(answer.body)}`;
    expect(answer.status, where).toBeLessThan(500);
    const body = answer.body as { errors?: { field: string; message: string }[] } & Record<string, unknown>;
    if ("refused" in read) {
      // One reading refuses it (or the schema's date-time format first): a 400 naming this field.
      expect(answer.status, where).toBe(400);
      expect(answer.headers.get("content-type"), where).toMatch(/^application\/problem\+json/);
      const message = body.errors?.find((e) => e.field === route.field)?.message;
      expect([read.refused, SCHEMA_MESSAGE], where).toContain(message);
      continue;
    }
    if (answer.status >= 300) {
      expect(answer.status, where).toBeGreaterThanOrEqual(400);
      expect(answer.headers.get("content-type"), where).toMatch(/^application\/problem\+json/);
      continue;
    }
    // Read: as the one reading reads it, and every instant of the answer one a Timestamp holds.
    if (route.echo) expect(route.echo(body), where).toBe(read.iso);
    for (const instant of instantsOf(body)) expect(instant, where).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
  }
}

describe("every instant a route takes", () => {
  it("the edges: years 0000 and 9999 at any offset, leap seconds, a space before a small year", async () => {
    for (const text of EDGES) await checkEveryRoute(text);
  });

  it(`is read as one function reads it, or refused naming the field (${RUNS} instants of every shape)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearInstant, anyInstant, leapSecond), (text) => checkEveryRoute(text)),
      { numRuns: RUNS },
    );
  });
});
