import type { Params } from "./bank.js";
import { invalid } from "./failures.js";
import { type Intent, intentObject, type JsonObject } from "./objects.js";

/**
 * `GET /v1/payment_intents/search` (issue 71), as Stripe's Search Query Language reads a query
 * (https://docs.stripe.com/search#search-query-language): clauses `field:'value'` joined by `AND`,
 * the fields a PaymentIntent is searched by (https://docs.stripe.com/search#query-fields-for-payment-intents:
 * `metadata['key']`, `customer`, `status`, `currency`), a value quoted with `'` or `"` (a quote inside
 * escaped `\`). The stand-in indexes at once; Stripe's index may lag "less than a minute", which the
 * adapter's idempotency key covers (24 hours). Anything else is refused 400 `param: query`.
 */
const CLAUSE =
  /^\s*(metadata\[(['"])(.+?)\2\]|customer|status|currency)\s*:\s*(['"])((?:\\.|(?!\4).)*)\4\s*$/;

function clausesOf(query: string): ((intent: Intent) => boolean)[] {
  return query.split(/\s+AND\s+/).map((clause) => {
    const match = CLAUSE.exec(clause);
    if (!match) throw invalid(`The query is not valid: ${clause}`, "query");
    const [, field = "", , key, , raw = ""] = match;
    const value = raw.replace(/\\(.)/g, "$1");
    if (key !== undefined) return (intent) => intent.metadata[key] === value;
    return (intent) => String(intent[field as "customer" | "status" | "currency"] ?? "") === value;
  });
}

/** The intents a query matches, newest first, at most `limit` (1 to 100, 10 by default). */
export function searchIntents(intents: readonly Intent[], params: Params): JsonObject {
  const limit = params.limit === undefined ? 10 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw invalid("This value must be between 1 and 100.", "limit");
  const clauses = clausesOf(String(params.query ?? ""));
  const found = intents.filter((intent) => clauses.every((matches) => matches(intent))).reverse();
  return {
    object: "search_result",
    data: found.slice(0, limit).map(intentObject),
    has_more: found.length > limit,
    next_page: null,
    url: "/v1/payment_intents/search",
  };
}
