import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { useDataKeysOf } from "../app/personal-data.js";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import type { Position } from "../event-store/position.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";

export interface SeedPlan {
  /** Lots to register, each with `capacity` spots. */
  readonly lots: number;
  readonly capacity: number;
  /** Reservations, spread round-robin over the lots. */
  readonly reservations: number;
  /** Reservations canceled afterwards (every k-th one, deterministic). */
  readonly cancellations: number;
  /**
   * Reservations (of those not canceled, the first ones) whose car then checks in and out: each
   * stay earns its coupon (seeded lots earn a coupon from a stay of 0 minutes). Default 0.
   */
  readonly stays?: number;
  /** Distinct customers the reservations cycle through. Default 50. */
  readonly customers?: number;
  /** Prefix of the lot ids (`{prefix}{n}`). Default "lot-". */
  readonly lotPrefix?: string;
  /** Commands in flight at once. Default 256. */
  readonly concurrency?: number;
}

export interface SeededReservation {
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly customerId: string;
  /** Global position of its ParkingReserved event. */
  readonly position: Position;
}

export interface Seeded {
  readonly lotIds: readonly string[];
  readonly reservations: readonly SeededReservation[];
  readonly canceled: ReadonlySet<string>;
  /** Reservations checked in and out (each kept the coupon its booking got). */
  readonly completed: ReadonlySet<string>;
  /** Events appended to lot streams (registrations + reservations + cancellations + 2 per stay). */
  readonly lotEvents: number;
  /** Position of the last appended event. */
  readonly lastPosition: Position;
}

/** A Korean-style plate, deterministic per index (valid CarNumber). */
export const plateFor = (i: number): string => `${10 + (i % 89)}더${1000 + (i % 9000)}`;

/** Runs `tasks` with at most `concurrency` of them at once. */
async function runBounded<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= tasks.length) return;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}

/**
 * Writes lot events straight through the command handler (no HTTP): fast seeding of a big log.
 * Every command must be accepted; a rejection throws.
 */
export async function seedLotEvents(eventStore: EventStore, plan: SeedPlan): Promise<Seeded> {
  const handler = new ParkingLotCommandHandler(eventStore, { retryLimit: 20, cacheSize: 10_000 });
  const prefix = plan.lotPrefix ?? "lot-";
  const customers = plan.customers ?? 50;
  const concurrency = plan.concurrency ?? 256;
  const now = () => new Date().toISOString();
  let last: Position | null = null;
  const run = async (command: ParkingLotCommand): Promise<Position> => {
    const outcome = await handler.handle(command, {
      correlationId: randomUUID(),
      commandId: randomUUID(),
      actor: systemActor("test-seed"),
    });
    if (!outcome.ok) throw new Error(`seed command refused: ${JSON.stringify(outcome.rejection)}`);
    if (outcome.events.length === 0 || !outcome.position)
      throw new Error(`seed command changed nothing: ${command.type}`);
    if (!last || outcome.position.commit > last.commit) last = outcome.position;
    return outcome.position;
  };

  const lotIds = Array.from({ length: plan.lots }, (_, i) => `${prefix}${i + 1}`);
  await runBounded(
    lotIds.map(
      (parkingLotId, i) => () =>
        run({
          type: "RegisterParkingLot",
          parkingLotId,
          name: `주차장 ${i + 1}`,
          capacity: plan.capacity,
          // Seeds spread reservations over few customers; the per-customer rule is not what they test.
          maxActivePerCustomer: 1000,
          // Every seeded stay keeps its coupon, however short (a shorter stay than the rule revokes it).
          couponRule: { minStayMinutes: 0 },
          now: now(),
        }),
    ),
    concurrency,
  );

  const specs = Array.from({ length: plan.reservations }, (_, i) => ({
    reservationId: `${prefix}r${i + 1}`,
    parkingLotId: lotIds[i % lotIds.length] as string,
    customerId: `CUST${(i % customers) + 1}`,
    i,
  }));
  const positions = await runBounded(
    specs.map(
      (s) => () =>
        run({
          type: "ReserveParking",
          reservationId: s.reservationId,
          parkingLotId: s.parkingLotId,
          customerId: s.customerId,
          carNumber: plateFor(s.i),
          amount: 1000 + (s.i % 50) * 100,
          now: now(),
        }),
    ),
    concurrency,
  );
  const reservations = specs.map((s, i) => ({
    reservationId: s.reservationId,
    parkingLotId: s.parkingLotId,
    customerId: s.customerId,
    position: positions[i] as Position,
  }));

  const step = plan.cancellations > 0 ? Math.max(1, Math.floor(plan.reservations / plan.cancellations)) : 0;
  const toCancel = step
    ? reservations.filter((_, i) => i % step === 0).slice(0, plan.cancellations)
    : ([] as SeededReservation[]);
  if (toCancel.length !== plan.cancellations)
    throw new Error(`cannot cancel ${plan.cancellations} of ${plan.reservations} reservations`);
  await runBounded(
    toCancel.map(
      (r) => () =>
        run({
          type: "CancelReservation",
          reservationId: r.reservationId,
          parkingLotId: r.parkingLotId,
          reason: "seeded cancellation",
          now: now(),
        }),
    ),
    concurrency,
  );

  const canceled = new Set(toCancel.map((r) => r.reservationId));
  const staying = reservations.filter((r) => !canceled.has(r.reservationId)).slice(0, plan.stays ?? 0);
  if (staying.length !== (plan.stays ?? 0))
    throw new Error(`cannot complete ${plan.stays} stays of ${plan.reservations} reservations`);
  const stayStep = (type: "CheckIn" | "CheckOut") =>
    runBounded(
      staying.map(
        (r) => () => run({ type, reservationId: r.reservationId, parkingLotId: r.parkingLotId, now: now() }),
      ),
      concurrency,
    );
  await stayStep("CheckIn");
  await stayStep("CheckOut");

  return {
    lotIds,
    reservations,
    canceled,
    completed: new Set(staying.map((r) => r.reservationId)),
    lotEvents: plan.lots + plan.reservations + plan.cancellations + 2 * staying.length,
    lastPosition: last as unknown as Position,
  };
}

/**
 * Seeds DATA_DIR/events.sqlite in this process, then closes the store. Personal fields are sealed
 * under that DATA_DIR's data keys, as its service seals them (not under whichever store this
 * process opened last: e2e files share a worker, and another file's keys are gone with its dir).
 */
export async function seedDataDir(dataDir: string, plan: SeedPlan): Promise<Seeded> {
  useDataKeysOf({ dataDir });
  const eventStore = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
  try {
    return await seedLotEvents(eventStore, plan);
  } finally {
    await eventStore.close();
  }
}

/** Every event of the global log, in order. */
export async function readAllEvents(eventStore: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of eventStore.readAll()) out.push(e);
  return out;
}

export interface CouponAudit {
  readonly issued: number;
  readonly revoked: number;
  /** Reservations with more than one CouponIssued. */
  readonly duplicateIssues: string[];
  /** Reservations with more than one CouponRevoked. */
  readonly duplicateRevokes: string[];
  /** Bookings (ParkingReserved) without a CouponIssued. */
  readonly missingIssues: string[];
  /**
   * Reservations holding a coupon that lost it (canceled, a no-show, a stay too short:
   * `couponEarned: false`) without a CouponRevoked.
   */
  readonly missingRevokes: string[];
  /** CouponRevoked without a CouponIssued before it in the log. */
  readonly revokesWithoutIssue: string[];
  /**
   * Coupon events without their cause: an issue for a reservation never booked, a revoke for
   * one never canceled, a no-show, nor a stay too short.
   */
  readonly strays: string[];
}

/**
 * Counts coupon events per reservation over the whole log: what "exactly one CouponIssued per
 * ParkingReserved, one CouponRevoked per reservation that lost it, never a revoke without an
 * issue" means (issue 47: a coupon comes with the booking, the seed's flow).
 */
export function auditCoupons(events: readonly RecordedEvent[]): CouponAudit {
  const booked = new Set<string>();
  const lost = new Set<string>();
  const issues = new Map<string, number>();
  const revokes = new Map<string, number>();
  const revokesWithoutIssue: string[] = [];
  const strays: string[] = [];
  const reservationOf = (e: RecordedEvent) => (e.data as { reservationId: string }).reservationId;
  for (const e of events) {
    const id = reservationOf(e);
    switch (e.type) {
      case "ParkingReserved":
        booked.add(id);
        break;
      case "ReservationCheckedOut":
        if ((e.data as { couponEarned?: boolean }).couponEarned === false) lost.add(id);
        break;
      case "ReservationCanceled":
      case "ReservationNoShow":
        lost.add(id);
        break;
      case "CouponIssued":
        if (!booked.has(id)) strays.push(id);
        issues.set(id, (issues.get(id) ?? 0) + 1);
        break;
      case "CouponRevoked":
        if (!issues.has(id)) revokesWithoutIssue.push(id);
        if (!lost.has(id)) strays.push(id);
        revokes.set(id, (revokes.get(id) ?? 0) + 1);
        break;
    }
  }
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    issued: sum(issues),
    revoked: sum(revokes),
    duplicateIssues: [...issues].filter(([, n]) => n > 1).map(([id]) => id),
    duplicateRevokes: [...revokes].filter(([, n]) => n > 1).map(([id]) => id),
    missingIssues: [...booked].filter((id) => !issues.has(id)),
    missingRevokes: [...lost].filter((id) => issues.has(id) && !revokes.has(id)),
    revokesWithoutIssue,
    strays,
  };
}

/** The audit of a perfect log: use with toEqual for one readable diff. */
export const cleanAudit = (issued: number, revoked: number): CouponAudit => ({
  issued,
  revoked,
  duplicateIssues: [],
  duplicateRevokes: [],
  missingIssues: [],
  missingRevokes: [],
  revokesWithoutIssue: [],
  strays: [],
});
