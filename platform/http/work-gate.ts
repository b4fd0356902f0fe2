import type { Request, RequestHandler, Response } from "express";
import type { Metrics } from "../metrics.js";
import { type WorkBudget, WorkMeter, withWorkMeter } from "../work-budget.js";
import { ProblemError } from "./problem.js";

/**
 * Bounds the expensive work of one endpoint: at most `concurrency` requests computed at once, at
 * most `queue` more waiting (first come, first served), each for at most `maxWaitMs`. Past the
 * queue, or past the wait, a request is answered 503 `overloaded` with Retry-After at once; a
 * request whose client leaves while it waits is dropped from the queue and never computed. A slot
 * is given back on the next turn of the event loop, so between two expensive answers the process
 * reads what arrived meanwhile (cheap requests are answered, hang-ups seen). So a flood of one
 * endpoint holds at most `concurrency` of the process's turns, and cheap reads and writes keep theirs.
 */
export interface WorkLimit {
  readonly concurrency: number;
  readonly queue: number;
  readonly maxWaitMs: number;
}

type Outcome = "admitted" | "full" | "waited-too-long" | "left";

interface Waiting {
  readonly start: () => void;
  readonly refuse: (outcome: Exclude<Outcome, "admitted">) => void;
}

/** One endpoint's (and one kind of caller's) slots and queue. */
export class WorkGate {
  private running = 0;
  private readonly waiting: Waiting[] = [];

  constructor(
    readonly name: string,
    readonly limit: WorkLimit,
    private readonly observe: (gate: WorkGate, outcome?: Outcome) => void = () => {},
  ) {}

  get inFlight(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with the release of a slot once the work may start, or with the reason it may not
   * (queue full, waited too long, the caller left: `signal` aborted while it waited).
   */
  admit(signal: AbortSignal): Promise<{ release: () => void } | { refused: Exclude<Outcome, "admitted"> }> {
    if (signal.aborted) return Promise.resolve(this.refused("left"));
    if (this.running < this.limit.concurrency && this.waiting.length === 0)
      return Promise.resolve(this.take());
    if (this.waiting.length >= this.limit.queue) return Promise.resolve(this.refused("full"));
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
      };
      const entry: Waiting = {
        start: () => {
          done();
          resolve(this.take());
        },
        refuse: (outcome) => {
          done();
          resolve(this.refused(outcome));
        },
      };
      const onAbort = () => entry.refuse("left");
      const timer = setTimeout(() => entry.refuse("waited-too-long"), this.limit.maxWaitMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
      this.observe(this);
    });
  }

  private take(): { release: () => void } {
    this.running++;
    this.observe(this, "admitted");
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        // The slot is given back on the next turn of the event loop, not at once: work that ran
        // without yielding (a synchronous fold) would otherwise hand its slot straight to the
        // next one, and the loop would never read the requests and hang-ups waiting in between.
        setImmediate(() => {
          this.running--;
          this.waiting[0]?.start();
          this.observe(this);
        });
      },
    };
  }

  private refused(outcome: Exclude<Outcome, "admitted">) {
    this.observe(this, outcome);
    return { refused: outcome };
  }
}

const signals = new WeakMap<Request, AbortSignal>();

/**
 * The request's AbortSignal: aborted when its client goes away before the answer is sent (the
 * connection closed), so work done for it can stop. Work that loops over stored data checks it.
 */
export function requestSignal(req: Request, res: Response): AbortSignal {
  const known = signals.get(req);
  if (known) return known;
  const controller = new AbortController();
  if (req.socket.destroyed) controller.abort(new Error("the client went away"));
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("the client went away"));
  });
  signals.set(req, controller.signal);
  return controller.signal;
}

/** The signal of a request that passed a work gate (or a signal that never aborts). */
export const signalOf = (req: Request): AbortSignal => signals.get(req) ?? new AbortController().signal;

export interface WorkGates {
  /** For every caller with a token. */
  readonly everyone: WorkLimit;
  /** For anonymous callers: their own, smaller budget, so they cannot take the others' slots. */
  readonly anonymous: WorkLimit;
}

const MESSAGES: Record<Exclude<Outcome, "admitted">, string> = {
  full: "Too many requests of this kind are being answered or waiting",
  "waited-too-long": "This request waited too long for its turn",
  left: "The client went away",
};

/**
 * What one request of an expensive endpoint may examine (issue 66): a base, and as much again per
 * item of the page it asked for (its `limit`, default `defaultLimit`).
 */
export interface WorkBudgets {
  readonly base: WorkBudget;
  readonly perItem: WorkBudget;
  readonly defaultLimit: number;
}

/** The request's page size as asked (the query was validated before the gate), if it asked one. */
const askedLimit = (req: Request): number | undefined => {
  const limit = Number((req.query as Record<string, unknown> | undefined)?.limit);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
};

/** The meter of one admitted request: its budget grows with the page it asked for. */
function meterOf(name: string, budgets: WorkBudgets, req: Request): WorkMeter {
  const asked = askedLimit(req);
  const items = asked ?? budgets.defaultLimit;
  const budget = {
    documents: budgets.base.documents + items * budgets.perItem.documents,
    events: budgets.base.events + items * budgets.perItem.events,
  };
  return new WorkMeter(name, budget, asked);
}

/**
 * A middleware in front of one endpoint's expensive handler: picks the caller's gate (anonymous
 * or not), waits for a slot, and answers 503 with Retry-After when none comes in time. A request
 * whose client left is not answered at all (no one is there to read it). An admitted request runs
 * with a work meter (platform/work-budget.ts): what the stores examine for it is counted against
 * its budget and, once it is answered, in the metrics per operation.
 */
export function workGate(
  name: string,
  limits: WorkGates,
  isAnonymous: (req: Request) => boolean,
  metrics?: Metrics,
  budgets?: WorkBudgets,
): RequestHandler {
  const observe = (caller: string) => (gate: WorkGate, outcome?: Outcome) => {
    if (!metrics) return;
    metrics.heavyReadsInFlight.set({ endpoint: name, caller }, gate.inFlight);
    metrics.heavyReadsQueued.set({ endpoint: name, caller }, gate.queued);
    if (outcome) metrics.heavyReads.inc({ endpoint: name, caller, outcome });
  };
  const gates = {
    everyone: new WorkGate(name, limits.everyone, observe("authenticated")),
    anonymous: new WorkGate(`${name} (anonymous)`, limits.anonymous, observe("anonymous")),
  };
  return (req, res, next) => {
    const gate = isAnonymous(req) ? gates.anonymous : gates.everyone;
    const signal = requestSignal(req, res);
    gate.admit(signal).then((admission) => {
      if ("release" in admission) {
        res.once("close", admission.release);
        res.once("finish", admission.release);
        if (!budgets) return next();
        const meter = meterOf(name, budgets, req);
        res.once("close", () => metrics?.observeExamined(meter));
        withWorkMeter(meter, next);
        return;
      }
      if (admission.refused === "left") return;
      next(
        new ProblemError("overloaded", `${MESSAGES[admission.refused]}; retry shortly.`, {
          retryAfterSeconds: 1,
        }),
      );
    }, next);
  };
}
