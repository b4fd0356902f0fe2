import { describe, expect, it } from "vitest";
import type { AuthorizePayment, RecordIntentReleased } from "../../schemas/commands.js";
import {
  decideAuthorization,
  decideFailure,
  decideIntentReleased,
  evolvePaymentAggregate,
  noPayment,
  type PaymentState,
} from "../../write-side/payment/payment.js";
import type { PaymentEvent } from "../../write-side/payment/payment-facts.js";
import { processOf } from "../../write-side/payment/payment-next.js";
import { type AuthorizeWork, saveForLater } from "./hold-steps.js";
import { runNext } from "./payment-steps.js";
import type { Authorization, PaymentProvider, ProviderOutcome } from "./provider.js";
import type { StepDeps } from "./step-common.js";

/*
 * Issue 71: a saved card's hold before the stay against a scripted provider, its facts decided by
 * the payment's own decider: a card that asks for its customer (`authentication_required`) waits for
 * them until the stay's start (PaymentActionRequired, its client secret kept), and that deadline's
 * plan then releases the intent and fails the payment.
 */

const SAVED_AT = "2026-12-01T10:00:00.000Z";
const AUTHORIZE_AT = "2026-12-10T10:00:00.000Z";
const STARTS = "2026-12-11T10:00:00.000Z";
const ids = { parkingLotId: "L1", reservationId: "r1" };
const HISTORY: PaymentEvent[] = [
  {
    type: "PaymentIntentCreated",
    data: { ...ids, intentId: "seti_1", amount: 5000, currency: "KRW", createdAt: SAVED_AT },
  },
  {
    type: "PaymentCardSaved",
    data: {
      ...ids,
      intentId: "seti_1",
      amount: 5000,
      currency: "KRW",
      authorizeAt: AUTHORIZE_AT,
      savedAt: SAVED_AT,
      booking: { amount: 5000, startsAt: STARTS },
    },
  },
];
const base = { ...ids, currency: "KRW", correlationId: "c1", attempt: 0, amount: 5000 };
/** The booking due at the service's time: its payment's next steps carried out (its saved card named). */
const run = (h: ReturnType<typeof harness>, deps: StepDeps = h.deps) => runNext(ids.reservationId, deps);

function harness(answer: ProviderOutcome<Authorization>, history: readonly PaymentEvent[] = HISTORY) {
  const calls: string[] = [];
  const secrets: string[] = [];
  let state: PaymentState = history.reduce(evolvePaymentAggregate, noPayment);
  const facts: PaymentEvent[] = [];
  // The stream's facts with their ids: h1 the card saved, a1 the first action asked (the keys' roots).
  const counts: Record<string, number> = {};
  const idOf = (event: PaymentEvent) => {
    const letter =
      { PaymentCardSaved: "h", PaymentActionRequired: "a", PaymentIntentCreated: "i" }[
        event.type as string
      ] ?? "f";
    counts[letter] = (counts[letter] ?? 0) + 1;
    return `${letter}${counts[letter]}`;
  };
  const records = history.map((event) => ({ id: idOf(event), event }));
  let now = AUTHORIZE_AT;
  const provider = {
    authorizeOffSession: async (request: { amount: number; idempotencyKey: string }) => {
      calls.push(`authorize ${request.amount} ${request.idempotencyKey}`);
      return answer;
    },
    saveCard: async (request: { idempotencyKey: string; metadata: Record<string, string> }) => {
      calls.push(`save ${request.idempotencyKey} ${JSON.stringify(request.metadata)}`);
      return { ok: true, value: { setupId: "seti_1", status: "pending", clientSecret: "seti_1_secret_x" } };
    },
    release: async (intentId: string, key: string) => {
      calls.push(`release ${intentId} ${key}`);
      return { ok: true, value: { released: 0 } };
    },
  } as unknown as PaymentProvider;
  const record = (decision: ReturnType<typeof decideFailure>) => {
    if (!decision.ok) return { ok: false as const, code: decision.rejection.code };
    for (const event of decision.events) {
      state = evolvePaymentAggregate(state, event);
      facts.push(event);
      records.push({ id: idOf(event), event });
    }
    return { ok: true as const, recorded: decision.events.length > 0 };
  };
  const deps: StepDeps = {
    provider,
    send: async (command) => {
      if (command.type === "AuthorizePayment")
        return record(
          decideAuthorization(
            state,
            command as AuthorizePayment,
            { awaiting: state.kind === "none", amount: 5000, currency: "KRW" },
            { booking: { amount: 5000, startsAt: STARTS } }, // what the lot holds of the booking
          ),
        );
      if (command.type === "RecordIntentReleased")
        return record(decideIntentReleased(state, command as RecordIntentReleased));
      const { type: _type, now: at, ...failure } = command as { type: string; now: string; code: string };
      return record(
        decideFailure(state, { ...(failure as typeof failure & typeof ids), reason: "declined" }, at),
      );
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
    now: () => now,
    keepClientSecret: async (_plan, secret) => {
      secrets.push(secret);
    },
    customers: { get: async () => undefined, keep: async () => undefined, drop: async () => undefined },
    lotState: async () => {
      throw new Error("not read by a hold");
    },
    paymentProcess: async () => processOf(records),
    oldSavedMethod: async () => ({ method: "pm_card_authenticationRequired" }),
  };
  return {
    deps,
    calls,
    facts,
    secrets,
    state: () => state,
    at: (t: string) => {
      now = t;
    },
  };
}

const asksCustomer: ProviderOutcome<Authorization> = {
  ok: true,
  value: { intentId: "pi_2", status: "pending", amount: 5000, clientSecret: "pi_2_secret_x" },
};

describe("a saved card's hold before the stay that asks for its customer", () => {
  it("records PaymentActionRequired until the stay's start and keeps its client secret: nothing failed, nothing authorized", async () => {
    const h = harness(asksCustomer);
    expect(await run(h)).toEqual({ until: STARTS }); // its deadline
    expect(h.facts).toEqual([
      {
        type: "PaymentActionRequired",
        data: {
          ...ids,
          intentId: "pi_2",
          amount: 5000,
          currency: "KRW",
          deadline: STARTS,
          actionRequiredAt: AUTHORIZE_AT,
        },
      },
    ]);
    expect(h.secrets).toEqual(["pi_2_secret_x"]);
    expect(h.state()).toMatchObject({ status: "action-required", authorized: 0 });
  });

  it("at its deadline, still waiting: the payment fails (authentication_required), then the intent is released at the provider", async () => {
    const h = harness(asksCustomer);
    await run(h);
    h.at(STARTS);
    expect(await run(h)).toBe("done");
    expect(h.calls).toEqual(["authorize 5000 parking:h1:authorize", "release pi_2 parking:a1:release"]);
    expect(h.facts.map((e) => e.type)).toEqual([
      "PaymentActionRequired",
      "PaymentFailed",
      "PaymentIntentReleased",
    ]);
    expect(h.facts[1]?.data).toMatchObject({
      reason: "declined",
      code: "authentication_required",
      failedAt: STARTS,
    });
  });

  it("completed before its deadline (the intent's authorization): authorized, and the deadline does nothing", async () => {
    const h = harness(asksCustomer);
    await run(h);
    const webhook = {
      type: "AuthorizePayment",
      ...ids,
      intentId: "pi_2",
      amount: 5000,
      currency: "KRW",
      now: AUTHORIZE_AT,
    } as const;
    expect(await h.deps.send(webhook, { correlationId: "c2", causationId: "w1" })).toMatchObject({
      ok: true,
    });
    expect(await run(h)).toBe("done");
    expect(h.state()).toMatchObject({ status: "authorized", intentId: "pi_2", authorized: 5000 });
    expect(h.calls).toEqual(["authorize 5000 parking:h1:authorize"]);
  });

  it("the customer completing it at the deadline's moment: whichever the payment's stream records first decides, and no hold is kept for a failed payment nor released under an authorized one (issue 71)", async () => {
    const webhook = {
      type: "AuthorizePayment",
      ...ids,
      intentId: "pi_2",
      amount: 5000,
      currency: "KRW",
      now: STARTS,
    } as const;
    // The customer's completion (its webhook's AuthorizePayment) lands just before each of the
    // deadline plan's moves: its provider call, its command.
    for (const point of ["release", "command"] as const) {
      const h = harness(asksCustomer);
      await run(h);
      h.at(STARTS);
      let completed = false;
      const complete = async () => {
        if (completed) return;
        completed = true;
        await h.deps.send(webhook, { correlationId: "c2", causationId: "w1" });
      };
      const release = h.deps.provider.release;
      const racing: StepDeps = {
        ...h.deps,
        provider: {
          ...h.deps.provider,
          release: async (intentId, key) => {
            if (point === "release") await complete();
            return release(intentId, key);
          },
        },
        send: async (command, cause) => {
          if (point === "command") await complete();
          return h.deps.send(command, cause);
        },
      };
      expect(await run(h, racing)).toBe("done");
      const released = h.calls.includes("release pi_2 parking:a1:release");
      const types = h.facts.map((e) => e.type);
      const state = h.state();
      if (state.kind === "open" && state.status === "authorized") {
        // The authorization came first: it stands, its hold kept at the provider.
        expect(released, point).toBe(false);
        expect(types, point).not.toContain("PaymentFailed");
      } else {
        // The failure came first: the authorization after it is refused, the intent released.
        expect(state, point).toMatchObject({ status: "failed" });
        expect(released, point).toBe(true);
        expect(types, point).not.toContain("PaymentAuthorized");
      }
    }
  });
});

describe("a card whose saving itself asks for its customer (3-D Secure on its SetupIntent)", () => {
  const DAY_AFTER = "2026-12-02T10:00:00.000Z";
  const plan: AuthorizeWork = {
    ...base,
    eventId: "p1",
    kind: "authorize",
    method: "pm_card_authenticationRequired",
    customer: "ref-1",
    authorizeAt: AUTHORIZE_AT,
  };

  it("records PaymentActionRequired (authorizeAt; deadline 24 h on, before the hold) and keeps the SetupIntent's client secret; nothing held at once", async () => {
    const h = harness(asksCustomer, []);
    h.at(SAVED_AT);
    expect(await saveForLater(plan, "cus_1", AUTHORIZE_AT, h.deps)).toBe("done");
    // The SetupIntent carries what its webhook is to save (setup_intent.succeeded names no amount).
    expect(h.calls).toEqual([
      'save parking:p1:save {"reservationId":"r1","parkingLotId":"L1","amount":"5000","currency":"KRW"}',
    ]);
    expect(h.facts).toEqual([
      {
        type: "PaymentActionRequired",
        data: {
          ...ids,
          intentId: "seti_1",
          amount: 5000,
          currency: "KRW",
          deadline: DAY_AFTER,
          actionRequiredAt: SAVED_AT,
          authorizeAt: AUTHORIZE_AT,
        },
      },
    ]);
    expect(h.secrets).toEqual(["seti_1_secret_x"]);
    expect(h.state()).toMatchObject({ status: "action-required", authorized: 0 });
  });

  it("at that deadline, still waiting: the payment fails (authentication_required) and the SetupIntent is canceled at the provider (nothing was held)", async () => {
    const h = harness(asksCustomer, []);
    h.at(SAVED_AT);
    await saveForLater(plan, "cus_1", AUTHORIZE_AT, h.deps);
    h.at(DAY_AFTER);
    expect(await run(h)).toBe("done");
    // Issue 71: no one can complete it late (a card saved for a booking that is gone).
    expect(h.calls.slice(1)).toEqual(["release seti_1 parking:a1:release"]);
    expect(h.facts.map((e) => e.type)).toEqual([
      "PaymentActionRequired",
      "PaymentFailed",
      "PaymentIntentReleased",
    ]);
    expect(h.facts[1]?.data).toMatchObject({ code: "authentication_required", failedAt: DAY_AFTER });
    expect(h.facts[2]?.data).toMatchObject({ intentId: "seti_1", amount: 0 });
  });

  it("completed (the card saved), then its hold before the stay asks for the customer too: the saving's deadline fails nothing, the hold's decides", async () => {
    const h = harness(asksCustomer, []);
    h.at(SAVED_AT);
    await saveForLater(plan, "cus_1", AUTHORIZE_AT, h.deps);
    h.at("2026-12-01T11:00:00.000Z");
    const completed = {
      type: "AuthorizePayment" as const,
      ...ids,
      intentId: "seti_1",
      amount: 5000,
      currency: "KRW",
    };
    expect(
      await h.deps.send(
        { ...completed, now: "2026-12-01T11:00:00.000Z" },
        { correlationId: "c", causationId: "w" },
      ),
    ).toEqual({ ok: true, recorded: true });
    h.at(AUTHORIZE_AT);
    await run(h); // asks the customer: PaymentActionRequired until the stay's start
    expect(h.state()).toMatchObject({
      status: "action-required",
      action: { intentId: "pi_2", deadline: STARTS },
    });
    expect(await run(h)).toEqual({ until: STARTS }); // the hold's deadline, not the saving's
    expect(h.facts.map((e) => e.type)).toEqual([
      "PaymentActionRequired",
      "PaymentCardSaved",
      "PaymentActionRequired",
    ]);
  });
});
