import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import type { EventStore } from "../event-store/port.js";
import { parsePositionToken } from "../event-store/position.js";
import { ProblemError } from "../platform/http/problem.js";
import type { Logger } from "../platform/logger.js";
import { endSpan, startSpan, tracingOn, validTraceparent } from "../platform/tracing.js";
import { controlCenterProjection } from "../projections/read-models/control-center.js";
import { EVERY_LOT, type LotReach, reachKey } from "../schemas/lot-reach.js";
import type { ControlCenterView } from "../schemas/read-models.js";
import type { ControlCenterQueries } from "./views/control-center-view.js";

/**
 * Server-Sent Events for the control-center page, polled from the document store (so a query
 * replica needs nothing from the projector): one cheap read of the checkpoints and the log's head per
 * interval, the view read once for every stream only when something changed or `refreshMs` passed
 * (what is free *now* changes with no event). An update is a whole view and its id a hash of it, so
 * resuming needs no replay; a lease renewal is not a change, so an idle service sends only heartbeats.
 */
export interface LiveUpdatesOptions {
  /** How often the store is polled for changes (and so the most updates a page gets per second). */
  readonly pollIntervalMs: number;
  /** The longest a view is kept without reading it again: the figures "now" change as time passes. */
  readonly refreshMs: number;
  /**
   * The least time between two views read for a change of the log, while changes keep coming (a
   * view costs the same whether one reservation changed or 500).
   */
  readonly minUpdateMs: number;
  /** How often an idle stream gets a comment line, so proxies and clients see it is alive. */
  readonly heartbeatMs: number;
  /** Streams open at once per process (LIVE_MAX_STREAMS); more get 503 and retry later. */
  readonly maxStreams: number;
  /** Streams one principal (`sub`) may hold open here; more get 429 (LIVE_MAX_STREAMS_PER_PRINCIPAL). */
  readonly maxStreamsPerPrincipal: number;
  /** Lots in each update (the page pages past them with GET /parking-lots). */
  readonly lotLimit: number;
  /** How long a client waits before reconnecting after the stream drops. */
  readonly retryMs: number;
  /** A stream is ended after this long: the browser reconnects (resuming) and is authenticated again. */
  readonly maxStreamMs: number;
}

export const LIVE_UPDATES_DEFAULTS: LiveUpdatesOptions = {
  pollIntervalMs: 250,
  refreshMs: 1000,
  minUpdateMs: 500,
  heartbeatMs: 15_000,
  maxStreams: 1000,
  maxStreamsPerPrincipal: 10,
  lotLimit: 100,
  retryMs: 2000,
  maxStreamMs: 5 * 60_000,
};

/** How often a stream opened on a browser session checks that the session is still live. */
const SESSION_CHECK_MS = 500;

/** The answer to a stream this process cannot serve: it is at its cap of LIVE_MAX_STREAMS (or serves none). */
export const processCapReached = (cap: number) =>
  new ProblemError(
    "service-unavailable",
    `This instance already serves its most live-update streams (LIVE_MAX_STREAMS, ${cap}); retry later or on another instance.`,
    { retryAfterSeconds: 5, limit: "per-process", max: cap },
  );

interface Stream {
  readonly res: Response;
  /** Whose stream it is (the principal's `sub`), for the per-principal cap. */
  readonly owner: string;
  /** The id of the last state written to this stream. */
  sent: string | undefined;
  /** The socket buffer is full: skip updates until it drains, then send the latest. */
  blocked: boolean;
  /** The views read before this stream opened are not for it (its first event is read after). */
  readonly since: number;
  /** The lots its owner reaches (schemas/lot-reach.ts): streams of one reach share one view. */
  readonly reach: LotReach;
}

/**
 * What a listener sees of the projections: everything but when each lease expires next (renewed
 * every few seconds while its holder works; who holds it, and whether it is held, still count).
 */
const seenOfStatuses = (statuses: ControlCenterView["projections"]): unknown =>
  statuses.map(({ lease, ...status }) =>
    lease ? { ...status, lease: { holder: lease.holder, state: lease.state } } : status,
  );

/** The id of a state a listener sees: a hash of the view, lease expiries left out. */
const stateId = (view: ControlCenterView): string =>
  hash({ ...view, projections: seenOfStatuses(view.projections) });

/** The most traced bookings one push looks for in the log (a push after a long quiet spell carries more). */
const MAX_TRACED_PER_PUSH = 1000;

const hash = (value: unknown): string =>
  createHash("sha256").update(JSON.stringify(value)).digest("base64url").slice(0, 22);

/** The event-stream framing of one update. `id` must not contain a newline (it is a hash). */
const frame = (id: string, view: ControlCenterView) =>
  `id: ${id}\nevent: control-center\ndata: ${JSON.stringify(view)}\n\n`;

export class LiveUpdates {
  private readonly streams = new Set<Stream>();
  /** The latest view of each reach streams have (by reachKey), framed once for all its streams. */
  private readonly current = new Map<string, { id: string; framed: string; read: number }>();
  /** Views read so far (numbers each read, to tell a stream's first view from an older one). */
  private reads = 0;
  private lastChange: string | undefined;
  /** When (Date.now()) the view was last read. */
  private readAt = 0;
  private poller: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private polling = false;
  /** A stream opened during a poll: read the view once more after it, for that stream. */
  private again = false;
  private closed = false;
  /** Updates read from the store and sent (a metric for the bench and tests). */
  updates = 0;

  /** The control center's position in the last view pushed (where the next push's traced bookings start). */
  private pushedCommit: number | null | undefined;

  constructor(
    private readonly queries: ControlCenterQueries,
    private readonly logger: Logger,
    private readonly options: LiveUpdatesOptions,
    /** The log, read only with tracing on: which traced bookings a push carried. */
    private readonly events: Pick<EventStore, "readAll">,
  ) {}

  get streamCount(): number {
    return this.streams.size;
  }

  /** Why `owner` may not open another stream now (ending, or a cap reached), as its answer. */
  refusal(owner: string): ProblemError | undefined {
    const { maxStreams, maxStreamsPerPrincipal: cap } = this.options;
    if (this.closed)
      return new ProblemError("shutting-down", "This instance is shutting down; reconnect to another.", {
        retryAfterSeconds: 1,
      });
    if (this.streams.size >= maxStreams) return processCapReached(maxStreams);
    // The streams `owner` holds open now (counted when one opens: at most maxStreams to look at).
    if ([...this.streams].filter((stream) => stream.owner === owner).length < cap) return undefined;
    return new ProblemError(
      "too-many-streams",
      `This account already holds its most live-update streams open on this instance (LIVE_MAX_STREAMS_PER_PRINCIPAL, ${cap}); close one (another tab or window) first.`,
      { retryAfterSeconds: 5, limit: "per-principal", max: cap },
    );
  }

  /** Turns `res` into a stream of `owner` (reaching `reach`); the caller checks refusal(owner) first. */
  open(
    req: Request,
    res: Response,
    owner: string,
    reach: LotReach = EVERY_LOT,
    /** Whether the stream's browser session is still live: checked every SESSION_CHECK_MS. */
    sessionLive?: () => Promise<boolean>,
  ): void {
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    // Tell buffering proxies (nginx) to pass events through as they come.
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write(`retry: ${this.options.retryMs}\n\n`);

    const lastEventId = req.get("Last-Event-ID");
    const stream: Stream = {
      res,
      owner,
      sent: lastEventId?.slice(0, 64),
      blocked: false,
      since: this.reads,
      reach,
    };
    this.streams.add(stream);
    res.on("drain", () => {
      stream.blocked = false;
      this.send(stream);
    });
    const expiry = setTimeout(() => res.end(), this.options.maxStreamMs).unref();
    // Signed out or revoked (on any replica: the record is in the shared store): ended within a second.
    const checking =
      sessionLive &&
      setInterval(async () => {
        if (!(await sessionLive().catch(() => true))) res.end();
      }, SESSION_CHECK_MS).unref();
    res.on("close", () => {
      clearTimeout(expiry);
      clearInterval(checking);
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stopTimers();
    });

    this.startTimers();
    // Its first view is read now, not the cached one (which may be a second old).
    this.readAt = 0;
    if (this.polling) this.again = true;
    else void this.poll();
  }

  /** Ends every stream (the service is shutting down) and stops polling. */
  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
  }

  private send(stream: Stream): void {
    const current = this.current.get(reachKey(stream.reach));
    if (!current || current.read <= stream.since || stream.blocked || stream.sent === current.id) return;
    stream.sent = current.id;
    if (!stream.res.write(current.framed)) stream.blocked = true;
  }

  private startTimers(): void {
    if (this.closed) return;
    this.poller ??= setInterval(() => void this.poll(), this.options.pollIntervalMs).unref();
    this.heartbeat ??= setInterval(() => {
      for (const stream of this.streams) if (!stream.blocked) stream.res.write(": heartbeat\n\n");
    }, this.options.heartbeatMs).unref();
  }

  private stopTimers(): void {
    clearInterval(this.poller);
    clearInterval(this.heartbeat);
    this.poller = undefined;
    this.heartbeat = undefined;
  }

  /** One cheap read of what changed; the whole view only when something did, or time moved on. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed || this.streams.size === 0) return;
    this.polling = true;
    try {
      do {
        this.again = false;
        await this.pollOnce();
      } while (this.again && !this.closed);
    } finally {
      this.polling = false;
    }
  }

  private async pollOnce(): Promise<void> {
    try {
      const change = hash(seenOfStatuses(await this.queries.projectionStatuses()));
      const since = Date.now() - this.readAt;
      const stale = since >= this.options.refreshMs;
      const due = change !== this.lastChange && since >= this.options.minUpdateMs;
      const reaches = new Map([...this.streams].map((s) => [reachKey(s.reach), s.reach] as const));
      const unread = [...reaches.keys()].some((key) => !this.current.has(key));
      if (due || unread || stale) {
        this.readAt = Date.now();
        const readStarted = this.readAt;
        const read = ++this.reads;
        let traced: ControlCenterView | undefined;
        for (const [key, reach] of reaches) {
          const view = await this.queries.controlCenter({
            limit: this.options.lotLimit,
            ...(reach.every ? {} : { within: reach }),
          });
          traced ??= view;
          // The view's own statuses may be newer than `statuses`; its content names the state.
          const id = stateId(view);
          const current = this.current.get(key);
          if (id !== current?.id) {
            this.updates++;
            this.current.set(key, { id, framed: frame(id, view), read });
          } else this.current.set(key, { ...current, read });
        }
        for (const key of this.current.keys()) if (!reaches.has(key)) this.current.delete(key);
        this.lastChange = change;
        // Streams opened since the last read get this view; the others only if it changed.
        for (const stream of this.streams) this.send(stream);
        if (traced && tracingOn()) await this.tracePush(traced, readStarted);
      }
    } catch (error) {
      // The document store is unreachable: keep the streams and the last view; try next tick.
      this.logger.warn({ err: error }, "live updates: could not read the control center");
    }
  }

  /** With tracing on: a span "live-update push" in the trace of each booking this push is the first to carry. */
  private async tracePush(view: ControlCenterView, readStarted: number): Promise<void> {
    const applied = view.projections.find((p) => p.name === controlCenterProjection.name)?.position;
    const to = applied ? parsePositionToken(applied)?.commit : null;
    if (to === undefined) return;
    const from = this.pushedCommit;
    this.pushedCommit = to;
    if (from === undefined || to === null || (from !== null && to <= from)) return;
    try {
      const read = this.events.readAll({
        ...(from === null ? {} : { from: { commit: from, prepare: Number.MAX_SAFE_INTEGER } }),
        filter: { eventTypes: ["ParkingReserved"] },
        maxCount: MAX_TRACED_PER_PUSH,
      });
      for await (const raw of read) {
        if (raw.position.commit > to) break;
        // Read raw, not decoded: checked here, as spans are started only under checked ones.
        const traceparent = validTraceparent((raw.metadata as { traceparent?: unknown } | null)?.traceparent);
        if (traceparent === undefined) continue;
        const reservation = (raw.data as { reservationId?: unknown } | null)?.reservationId;
        endSpan(
          startSpan("live-update push", traceparent, {
            startTime: readStarted,
            attributes: {
              "parking.reservation": String(reservation),
              "parking.position": raw.position.commit,
              "live.streams": this.streams.size,
            },
          }),
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, "live updates: could not read the log for the push's traces");
    }
  }
}
