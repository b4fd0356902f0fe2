import type { EventOfType } from "../../schemas/events.js";

/** The payment as the upgrade carried it over: the state it holds, whatever came before on its stream. */
export function carriedOver(data: EventOfType<"PaymentCarriedOver">["data"]) {
  const { carriedAt: _at, intentId, currency, endedAt, ...rest } = data;
  return {
    kind: "open" as const,
    ...rest,
    refundsOutstanding: rest.refundsOutstanding.map((amount) => ({ intentId: intentId ?? "", amount })),
    ...(intentId !== undefined ? { intentId } : {}),
    ...(currency !== undefined ? { currency } : {}),
    ...(endedAt !== undefined ? { endedAt } : {}),
  };
}
