import { randomUUID } from "node:crypto";
import type { EventStore } from "../event-store/port.js";
import type { Config } from "../platform/config.js";
import type { Logger } from "../platform/logger.js";
import { readPaymentProcess } from "../projections/payments/payment-due.js";
import type { PaymentSagaSettings } from "../projections/payments/payment-saga.js";
import { type ReconcileOutcome, reconcileHolds } from "../projections/payments/reconcile-holds.js";
import type { PaymentCommandSender } from "../projections/payments/step-common.js";
import { stripeClient, stripeProvider } from "../projections/payments/stripe-provider.js";
import { systemActor } from "../schemas/actor.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";

const PAYMENTS_ACTOR = systemActor("payments");

/** The payments process manager's way to the lot: each provider outcome a command the lot decides (a repeat appends nothing). */
function senderOf(handler: ParkingLotCommandHandler): PaymentCommandSender {
  return async (command, cause) => {
    const outcome = await handler.handle(command, {
      correlationId: cause.correlationId,
      commandId: randomUUID(),
      actor: PAYMENTS_ACTOR,
    });
    return outcome.ok
      ? { ok: true, recorded: outcome.events.length > 0 }
      : { ok: false, code: outcome.rejection.code };
  };
}

/** The payments process manager's settings for this configuration: none with PAYMENTS=none. */
export function paymentSagaSettings(
  config: Config,
  eventStore: EventStore,
  options: { readonly logger: Logger },
): PaymentSagaSettings | undefined {
  if (config.payments !== "stripe" || config.stripeSecretKey === undefined) return undefined;
  const client = stripeClient({
    secretKey: config.stripeSecretKey,
    apiBase: config.stripeApiBase,
    timeoutMs: 10_000,
  });
  const handler = new ParkingLotCommandHandler(eventStore, {
    cacheSize: 64,
    ...options,
    retryLimit: config.commandRetryLimit,
    periodEvents: config.lotPeriodEvents,
  });
  return {
    provider: stripeProvider(client, config.stripeInstance),
    send: senderOf(handler),
    lotState: (parkingLotId) => handler.stateOf(parkingLotId),
    retryScale: config.paymentRetryScale,
    authorizeBeforeStayHours: config.authorizeBeforeStayHours,
  };
}

/**
 * `replay reconcile-holds` (issue 47): the provider's open intents reconciled with the lots once,
 * now, as the payments process manager does hourly; pending intents are released however fresh.
 */
export async function reconcileHoldsOnce(
  config: Config,
  eventStore: EventStore,
  logger: Logger,
): Promise<ReconcileOutcome | undefined> {
  const settings = paymentSagaSettings(config, eventStore, { logger });
  if (!settings) return undefined;
  return reconcileHolds(
    {
      ...settings,
      logger,
      now: () => new Date().toISOString(),
      paymentProcess: (reservationId) => readPaymentProcess(eventStore, reservationId),
    },
    { freshSeconds: 0, pages: Number.POSITIVE_INFINITY },
  );
}
