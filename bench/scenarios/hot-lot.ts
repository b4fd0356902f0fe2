import { join } from "node:path";
import { SqliteEventStore } from "../../event-store/embedded/sqlite-event-store.js";
import { SqliteDataKeys } from "../../platform/data-keys/sqlite-data-keys.js";
import { openPersonalFields, withPersonalDataKeys } from "../../schemas/personal-data.js";
import type { ParkingLotView } from "../../schemas/read-models.js";
import { parkingLotStream } from "../../write-side/parking-lot/decider.js";
import { customerId, lotIds, reserveBody } from "../lib/domain.js";
import { describeLoad, type LoadResult } from "../lib/load.js";
import { log } from "../lib/log.js";
import { loadInRounds, ROUND_SECONDS } from "../lib/rounds.js";
import { CAPACITY, caughtUpAfterRound, waitForCatchUp, withService } from "../lib/service-api.js";
import { ratio } from "../lib/stats.js";
import { CONNECTIONS, LOTS, reserveRounds, spreadRequests, warmUp } from "./reserve.js";
import type { Scenario, ScenarioOutcome } from "./scenario.js";

const HOT_LOT = "hot-lot";
const WARMUP_LOT = "hot-warmup";

/** Requests on one lot; each has its own customer (`CUST<n>`), recorded in `sent` when given. */
function hotRequests(lot: string, offset: number, sent?: Set<string>) {
  let i = 0;
  return () => {
    const n = offset + i++;
    sent?.add(customerId(n));
    return { path: `/parking-lots/${lot}/reservations`, body: reserveBody(n) };
  };
}

/**
 * Reads the lot's whole stream straight from the event store file (a second process, as WAL allows),
 * with the service's data keys: each customer id is sealed in the log (schemas/personal-data.ts).
 */
async function auditStream(dataDir: string, lot: string) {
  const store = SqliteEventStore.open({ file: join(dataDir, "events.sqlite") });
  const keys = SqliteDataKeys.open(join(dataDir, "keys", "data-keys.sqlite"));
  try {
    const ids = new Set<string>();
    const customers: string[] = [];
    let reserved = 0;
    let canceled = 0;
    let events = 0;
    for await (const event of store.readStream(parkingLotStream(lot))) {
      events++;
      if (event.type === "ParkingReserved") {
        reserved++;
        const data = withPersonalDataKeys(keys, () => openPersonalFields(event.data)) as {
          reservationId: string;
          customerId: string;
        };
        ids.add(data.reservationId);
        customers.push(data.customerId);
      } else if (event.type === "ReservationCanceled") canceled++;
    }
    return { reserved, canceled, ids, customers, events };
  } finally {
    keys.close();
    await store.close();
  }
}

/**
 * 2. One hot lot: the reserve load of scenario 1 (64 connections), all on a single lot with a
 * capacity large enough that most requests succeed, in rounds alternating with the spread-out
 * load on the same service (so the ratio compares like with like). Afterwards: accepted
 * reservations ≤ capacity, exactly the stream's, and the read model agrees.
 */
export const hotLotScenario: Scenario = {
  name: "hot-lot",
  title: "One hot lot: no overbooking under contention",
  run: (ctx) =>
    withService("hot-lot", [HOT_LOT, WARMUP_LOT, ...lotIds(LOTS)], async (service, http, dataDir) => {
      const rounds = reserveRounds(ctx);
      const lots = lotIds(LOTS);
      const accepted = new Set<string>();
      const sent = new Set<string>();
      for (const next of [spreadRequests(lots, 0), hotRequests(WARMUP_LOT, 20_000_000)])
        await warmUp(ctx, "service", service.url, next);
      await waitForCatchUp(http, 120_000);
      const caughtUp = () => caughtUpAfterRound(http);
      const sides = await loadInRounds(rounds, CONNECTIONS, {
        spread: {
          title: "spread",
          server: service,
          line: `spread (${LOTS} lots)`,
          requests: (r) => ({ next: spreadRequests(lots, 40_000_000 + r * 1_000_000) }),
          after: caughtUp,
        },
        hot: {
          title: "hot lot",
          server: service,
          line: `hot lot (1 lot, capacity ${CAPACITY})`,
          requests: (r) => ({
            next: hotRequests(HOT_LOT, 30_000_000 + r * 1_000_000, sent),
            onBody: (status: number, body: string) => {
              if (status === 201) accepted.add((JSON.parse(body) as { reservationId: string }).reservationId);
            },
          }),
          after: caughtUp,
        },
      });
      const audit = await auditStream(dataDir, HOT_LOT);
      const lotView = await http.json<ParkingLotView>("GET", `/parking-lots/${HOT_LOT}`);
      return report(sides.spread.load, sides.hot.load, { accepted, sent, audit, lotView, rounds });
    }),
};

/**
 * Every 201 is in the stream; the stream holds nothing but requests that were sent, each at most
 * once; beyond the 201s it holds at most the requests still in flight when a round stopped (their
 * answers were not awaited: at most one per connection per round); the read model agrees.
 */
function report(
  spread: LoadResult,
  load: LoadResult,
  run: {
    accepted: Set<string>;
    sent: Set<string>;
    audit: Awaited<ReturnType<typeof auditStream>>;
    lotView: ParkingLotView;
    rounds: number;
  },
): ScenarioOutcome {
  const { accepted, sent, audit, lotView, rounds } = run;
  const acceptedInStream = [...accepted].every((id) => audit.ids.has(id));
  const onlySent = audit.customers.every((c) => sent.has(c));
  const once = new Set(audit.customers).size === audit.customers.length;
  const unanswered = audit.reserved - accepted.size;
  const active = audit.reserved - audit.canceled;
  const consistent =
    acceptedInStream &&
    onlySent &&
    once &&
    unanswered >= 0 &&
    unanswered <= CONNECTIONS * rounds &&
    active <= CAPACITY &&
    lotView.activeReservations === active &&
    lotView.availableSpots === CAPACITY - active;
  const share = ratio(load.rps2xx, spread.rps2xx);
  log(`  spread, all rounds: ${describeLoad(spread)}`);
  log(`  hot lot, all rounds: ${describeLoad(load)}`);
  return {
    checks: [
      {
        target: "no overbooking (accepted ≤ capacity, match the stream and the read model)",
        measured: `${accepted.size} answered 201 + ${unanswered} in flight at stop = ${audit.reserved} in the stream ≤ ${CAPACITY}, each a distinct request sent: ${onlySent && once}; read model ${lotView.activeReservations}`,
        pass: consistent,
      },
      {
        target: "no 5xx",
        measured: `${load.status["5xx"]} 5xx, ${load.errors} connection errors, ${load.status["409"]} 409`,
        pass: load.status["5xx"] === 0 && load.errors === 0,
      },
      {
        target: "hot-lot throughput ≥ 30% of spread-out",
        measured: `${load.rps2xx} vs ${spread.rps2xx} req/s = ${Math.round(share * 100)}%`,
        pass: share >= 0.3,
      },
    ],
    figures: {
      capacity: CAPACITY,
      rounds,
      roundSec: ROUND_SECONDS,
      hotLot: load,
      spread: spread,
      throughputRatio: share,
      audit: {
        answered201: accepted.size,
        inFlightAtStop: unanswered,
        streamReserved: audit.reserved,
        streamEvents: audit.events,
        readModelActive: lotView.activeReservations,
      },
    },
  };
}
