import { setImmediate as setImmediatePromise } from "node:timers/promises";
import type { Document, WriteOp } from "../../document-store/port.js";
import type {
  BeginClosure,
  CancelForClosure,
  CloseBooks,
  ExpirePaymentHold,
  RecordNoShow,
} from "../../schemas/commands.js";
import type { DomainEvent, EventOfType, EventType } from "../../schemas/events.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";

export const SCHEDULER = "scheduler";
/** Where the scheduler keeps the facts it has yet to record, one document each, by when they fall due. */
export const SCHEDULE = "schedule";
const SCHEDULE_INDEXES = [{ name: "by_due_at", keys: { dueAt: 1 } }] as const;

/** The commands the scheduler sends: time-driven facts, each decided by the lot like any command. */
export type TimeDrivenCommand =
  | RecordNoShow
  | BeginClosure
  | CancelForClosure
  | ExpirePaymentHold
  | Pick<CloseBooks, "type" | "parkingLotId" | "now">;

/** How a time-driven command went: recorded now; not due yet; or nothing to record (done already, or settled). */
export type SendOutcome = "recorded" | "not-due" | "gone";

/** Not due until `notDueUntil` by the lot's decider: the fact is looked at again then, not before. */
export interface NotDueUntil {
  readonly notDueUntil: string;
}

/** Sends a command to the write side (the composition root wires the lot's command handler). */
export type CommandSender = (
  command: TimeDrivenCommand,
  cause: { readonly correlationId: string; readonly causationId: string },
) => Promise<SendOutcome | NotDueUntil>;

/** A time-driven command as kept until it is sent (each of its kinds without its `now`). */
type Unsent = TimeDrivenCommand extends infer C ? (C extends unknown ? Omit<C, "now"> : never) : never;

interface Due extends Document {
  readonly dueAt: string;
  readonly command: Unsent;
  readonly correlationId: string;
  readonly causationId: string;
}

const noShowId = (reservationId: string) => `no-show:${reservationId}`;
const holdId = (reservationId: string) => `payment-hold:${reservationId}`;
const closureId = (parkingLotId: string, closureId: string) => `closure:${parkingLotId}:${closureId}`;
const cancelsId = (parkingLotId: string, closureId: string) => `closure-cancels:${parkingLotId}:${closureId}`;

type Change = readonly [string, Due | null];
type Cause = { readonly correlationId: string; readonly causationId: string };
type ScheduleHandlers = {
  readonly [T in EventType]?: (event: EventOfType<T>, cause: Cause) => readonly Change[];
};

/** The fact `command` (as sent but for its `now`), kept under `key` and due at `at`. */
const due = (key: string, command: Unsent, at: string, cause: Cause): Change => [
  key,
  { _id: key, dueAt: new Date(at).toISOString(), command, ...cause },
];

/** The facts of these keys come off the schedule. */
const off = (...keys: string[]): Change[] => keys.map((key) => [key, null]);

/** A closure's cancellations: due at once, sent chunk after chunk until the lot appends nothing; again when it begins. */
const cancels = (parkingLotId: string, closure: string, at: string, cause: Cause): Change =>
  due(
    cancelsId(parkingLotId, closure),
    { type: "CancelForClosure", closureId: closure, parkingLotId },
    at,
    cause,
  );

/** A reservation ended (canceled, or a no-show): its window and its payment's hold come off the schedule. */
const ended = (event: { readonly data: { readonly reservationId: string } }): Change[] =>
  off(noShowId(event.data.reservationId), holdId(event.data.reservationId));

/** A booking no longer waiting for its payment: its hold comes off the schedule (issue 38). */
const holdSettled = (event: { readonly data: { readonly reservationId: string } }): Change[] =>
  off(holdId(event.data.reservationId));

/** What each event does to the schedule (its keys are the types the scheduler follows). */
const ON: ScheduleHandlers = {
  // A lot's books, one fact per lot: looked at when its period opens, then when its decider says
  // they fall due (its local midnight), so a quiet lot's day is one period too.
  LotPeriodOpened: ({ data: { parkingLotId, openedAt } }, cause) => [
    due(`books:${parkingLotId}`, { type: "CloseBooks", parkingLotId }, openedAt, cause),
  ],
  ParkingReserved: ({ data: { reservationId, parkingLotId, endsAt, payment } }, cause) => {
    const ids = { reservationId, parkingLotId };
    const changes: Change[] = [];
    // An open-ended booking has no end to miss.
    if (endsAt !== undefined)
      changes.push(due(noShowId(reservationId), { type: "RecordNoShow", ...ids }, endsAt, cause));
    // A booking waiting for its payment is canceled when its hold runs out unpaid (issue 38).
    if (payment !== undefined)
      changes.push(
        due(holdId(reservationId), { type: "ExpirePaymentHold", ...ids }, payment.holdUntil, cause),
      );
    return changes;
  },
  // A reservation that can no longer miss its window comes off the schedule.
  ReservationCheckedIn: (event) => off(noShowId(event.data.reservationId)),
  ReservationCanceled: ended,
  PaymentAuthorized: holdSettled,
  ReservationConfirmed: holdSettled,
  PaymentFailed: holdSettled,
  // A no-show ends the booking, a payment still awaited included: its hold comes off too.
  ReservationNoShow: ended,
  ParkingLotClosed: (event, cause) => {
    const { parkingLotId, closureId: closure, from, closedAt } = event.data;
    const command = { type: "BeginClosure", closureId: closure, parkingLotId } as const;
    return [
      due(closureId(parkingLotId, closure), command, from, cause),
      cancels(parkingLotId, closure, closedAt, cause),
    ];
  },
  ParkingLotClosureBegan: ({ data: { parkingLotId, closureId: closure, recordedAt } }, cause) => [
    ...off(closureId(parkingLotId, closure)),
    cancels(parkingLotId, closure, recordedAt, cause),
  ],
};

const TYPES: ReadonlySet<EventType> = new Set(Object.keys(ON) as EventType[]);

export interface SchedulerOptions {
  /** Sends the due facts; without one (a replay's runtime) the scheduler only keeps its schedule. */
  readonly send?: CommandSender;
  /** How often it looks for facts fallen due (the status a query shows follows the clock at once). */
  readonly everyMs?: number;
}

/** The most facts one run records. */
const BATCH = 100;

/**
 * The scheduler records the facts time brings (no-shows, closures beginning, expired holds, the
 * books). It follows the log to keep what is due (one document per fact, by id: idempotent), and
 * its tick sends each fact once due. Exactly once comes from the lot: its decider answers a fact
 * recorded already with nothing, appended at the stream's expected revision, so two schedulers (a
 * takeover, a crash before the schedule's update) never both record it.
 */
export function scheduler(options: SchedulerOptions = {}): Reactor {
  const { send } = options;
  return {
    name: SCHEDULER,
    eventTypes: TYPES,
    collections: { [SCHEDULE]: SCHEDULE_INDEXES },
    async react(events, context) {
      // Per fact, what the last of its events leaves: a batch handled twice writes the same.
      const changes = new Map<string, Due | null>();
      for (const { event, id, metadata } of events) {
        const handler = ON[event.type] as
          | ((event: DomainEvent, cause: Cause) => readonly Change[])
          | undefined;
        const cause = { correlationId: metadata.correlationId, causationId: id };
        for (const [key, due] of handler?.(event, cause) ?? []) changes.set(key, due);
      }
      const ops = [...changes].map(([id, due]) => scheduleOp(id, due));
      if (ops.length > 0) await context.documentStore.write(ops);
    },
    ...(send
      ? {
          tick: {
            everyMs: options.everyMs ?? 1_000,
            run: (context: ReactorContext) => recordDue(context, send),
          },
        }
      : {}),
  };
}

/** The write that keeps a fact on the schedule, or (null) takes it off. */
const scheduleOp = (id: string, due: Due | null): WriteOp =>
  due
    ? { op: "replace", collection: SCHEDULE, id, document: due }
    : { op: "delete", collection: SCHEDULE, id };

/** Sends every fact due by now (soonest first, at most BATCH), dropping those settled. */
async function recordDue(context: ReactorContext, send: CommandSender): Promise<void> {
  const now = context.now();
  const due = await context.documentStore.find<Due>(
    SCHEDULE,
    { dueAt: { $lte: new Date(now).toISOString() } },
    { sort: { dueAt: 1 }, limit: BATCH },
  );
  for (const fact of due) {
    const outcome = await sendFact(context, send, fact);
    const later = typeof outcome === "object" ? new Date(outcome.notDueUntil).toISOString() : undefined;
    if (later) await context.documentStore.write([scheduleOp(fact._id, { ...fact, dueAt: later })]);
    // Recorded: its event takes it off the schedule (react). Gone: recorded already, or the lot no
    // longer knows it; either way nothing is left to do. Not due: the lot's clock says later.
    else if (outcome === "gone") await context.documentStore.write([scheduleOp(fact._id, null)]);
  }
}

const MAX_CHUNKS = 200;

/** Sends one fact as of now; a closure's cancellations chunk after chunk, yielding between them. */
async function sendFact(
  context: ReactorContext,
  send: CommandSender,
  fact: Due,
): Promise<SendOutcome | NotDueUntil> {
  for (let chunk = 0; ; chunk++) {
    const command = { ...fact.command, now: new Date(context.now()).toISOString() } as TimeDrivenCommand;
    const outcome = await send(command, { correlationId: fact.correlationId, causationId: fact.causationId });
    context.metrics?.scheduledFacts.inc({
      fact: command.type,
      outcome: typeof outcome === "object" ? "not-due" : outcome,
    });
    // At most MAX_CHUNKS a run (the next run goes on): a lot that kept appending never holds the tick.
    if (command.type !== "CancelForClosure" || outcome !== "recorded" || chunk + 1 >= MAX_CHUNKS)
      return outcome;
    await setImmediatePromise();
  }
}
