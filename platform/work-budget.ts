import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What one request may examine in the stores (issue 66): documents read from the document store
 * and events read from the event store. The stores' adapters charge what they examine to the
 * request's meter, found through its async context, and the charge that passes the budget throws
 * WorkBudgetExceededError at once: the request ends long before the event-loop watchdog would
 * have to kill the process. Work outside a request (projections, rebuilds, CLIs) has no meter.
 */
export interface WorkBudget {
  readonly documents: number;
  readonly events: number;
}

export type WorkKind = keyof WorkBudget;

/** What one request examined so far, against its budget. */
export class WorkMeter {
  documents = 0;
  events = 0;

  constructor(
    /** The operation the request is for (a metric's label, the error's subject). */
    readonly operation: string,
    readonly budget: WorkBudget,
    /** The page size the request asked for, when it asked one: the cause when it is large. */
    readonly askedLimit?: number,
  ) {}

  /** The kind of work whose budget the request ran past, once it did. */
  exceeded: WorkKind | undefined;

  charge(kind: WorkKind, n: number): void {
    this[kind] += n;
    if (this[kind] <= this.budget[kind]) return;
    this.exceeded ??= kind;
    throw new WorkBudgetExceededError(this, kind);
  }
}

/** A request examined more than its operation's budget: it ends (503, or 400 naming its limit). */
export class WorkBudgetExceededError extends Error {
  override name = "WorkBudgetExceededError";
  constructor(
    readonly meter: WorkMeter,
    readonly kind: WorkKind,
  ) {
    super(`${meter.operation} examined more than its budget of ${meter.budget[kind]} ${kind}`);
  }
}

const current = new AsyncLocalStorage<WorkMeter>();

/** Runs `body` (and everything it starts) charging `meter`. */
export const withWorkMeter = <R>(meter: WorkMeter, body: () => R): R => current.run(meter, body);

/** The meter of the request this code runs for, if it runs for one. */
export const workMeter = (): WorkMeter | undefined => current.getStore();

/** Charges `n` examined `kind` to the current request, if any (throws past its budget). */
export function chargeWork(kind: WorkKind, n: number): void {
  if (n > 0) current.getStore()?.charge(kind, n);
}
