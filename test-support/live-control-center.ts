import type { EventStore } from "../event-store/port.js";
import { formatPosition, type Position } from "../event-store/position.js";
import { controlCenterProjection } from "../projections/read-models/control-center.js";
import { parkingLotsProjection } from "../projections/read-models/parking-lots.js";
import { reservationsProjection } from "../projections/read-models/reservations.js";
import type { Cut } from "../read-api/time-travel/as-of.js";
import { FoldState } from "../read-api/time-travel/fold-state.js";
import { readViews } from "../read-api/views/views.js";
import { decodeEvent } from "../schemas/event-codec.js";
import { stampMsOfRaw } from "../schemas/event-stamps.js";
import type { LotReach } from "../schemas/lot-reach.js";
import { parkingLotOfStream } from "../write-side/parking-lot/decider.js";
import { foldedLots } from "./folded-lots.js";

/**
 * The control center as the live service shows it over the same log, independent of time
 * travel's checkpoints, books, periods and loader: the whole log up to the cut folded into read
 * models and each lot's decider state (every event of the lot's streams, with `evolve`), read by
 * the views. The reference time travel's answers are held to.
 */
export async function liveControlCenterAt(
  store: EventStore,
  cut: Cut,
  page: { readonly limit: number; readonly within?: LotReach },
): Promise<unknown> {
  const state = new FoldState([parkingLotsProjection, reservationsProjection, controlCenterProjection]);
  let last: Position | null = null;
  let stampMs = Number.NEGATIVE_INFINITY;
  const lots = foldedLots();
  for await (const raw of store.readAll()) {
    const stamp = stampMsOfRaw(raw.type, raw.data);
    if (cut.kind === "position" ? raw.position.commit > cut.commit : stamp > cut.ms) break;
    const decoded = decodeEvent(raw);
    state.apply(decoded);
    // The lot's own streams' events only (a payment's stream names its lot too).
    if (parkingLotOfStream(raw.streamId) !== undefined) lots.add(decoded.event);
    last = raw.position;
    stampMs = Math.max(stampMs, stamp);
  }
  const nowMs = cut.kind === "instant" ? cut.ms : last ? stampMs : Date.parse("2000-01-01T00:00:00Z");
  const views = readViews(state.materialize(last), {
    readYourWritesTimeoutMs: 0,
    now: () => nowMs,
    lots: lots.lots,
  });
  const view = await views.controlCenter.controlCenter(page);
  return { ...view, asOf: { position: last && formatPosition(last), at: new Date(nowMs).toISOString() } };
}
