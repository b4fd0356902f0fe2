import { INSTANT_RULE } from "../../platform/http/instant-field.js";
import { MAX_HEADER_BYTES } from "../../platform/http/limits.js";
import { CORRELATION_ID_PATTERN, MAX_BODY_DEPTH } from "../../platform/http/middleware.js";
import { type Json, type Operation, ref } from "../../platform/http/operation.js";

/**
 * The request side of the OpenAPI document beyond the schemas: what every request must be (the
 * edge's limits, refused before any route), and how an operation's own rules that JSON Schema
 * cannot say (they depend on the clock, on the lot's state or on the log) are written in its
 * description. A 400 `validation` to a request that matches the schemas names one of those rules'
 * fields: app/request-properties.e2e.test.ts holds the service to that.
 */

/** What every request must be, refused before any route runs. */
export const EDGE_LIMITS = [
  `the start line and headers at most ${MAX_HEADER_BYTES / 1024} KiB (else 431 Request Header Fields Too Large, answered by Node itself: no body, connection closed)`,
  `\`X-Correlation-Id\`, when sent, matching \`${CORRELATION_ID_PATTERN}\` (else 400 \`validation\` naming \`header.X-Correlation-Id\`)`,
  "the headers complete within HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS (else 408, answered by Node itself: no body, connection closed); a request that is not valid HTTP gets Node's bare 400",
  `a body (any method but GET and HEAD, whose bodies are not read) of \`application/json\` in UTF-8 (else 415), at most 16 KiB (else 413), valid JSON (else 400 \`malformed-json\`) and a JSON object (else 400 \`validation\` naming \`body\`: "the body must be a JSON object"), nested at most ${MAX_BODY_DEPTH} levels of arrays and objects (else 400 \`validation\`: "nested deeper than ${MAX_BODY_DEPTH} levels")`,
  "no text anywhere in it (body, query, path) holding control, format (bidirectional, zero-width, BOM) or unpaired surrogate characters (else 400 `validation` naming the field); text is NFC-normalized",
  "within the rate limits, on every path but the probes (else 429 `rate-limited` with Retry-After)",
] as const;

/** The paragraph every operation's description ends with (the limits in full are in the API's description). */
export const edgeLimitsText = (): string =>
  `**Every request** is refused before any route when its headers exceed ${MAX_HEADER_BYTES / 1024} KiB (431) or arrive too slowly (408), its \`X-Correlation-Id\` is ill-formed (400), its body is not UTF-8 \`application/json\` (415), exceeds 16 KiB (413), is not JSON (400) or nests deeper than ${MAX_BODY_DEPTH} levels (400), or its caller is past a rate limit (429); see the API description.`;

/**
 * The operation's own rules beyond its schemas, one per line, each starting with the field it
 * names in a 400 (as `errors[].field` says it, without the `body.` or `query.` in front).
 */
export const rulesText = (rules: readonly string[]): string =>
  [
    "**Rules beyond the schemas** (a request that breaks one gets 400 `validation` naming the field):",
    ...rules.map((rule) => `- ${rule}`),
  ].join("\n");

/** Answers Node gives before the service sees the request: no body, no service headers. */
export const TRANSPORT_RESPONSES: Readonly<Record<string, Json>> = {
  "408": {
    description:
      "Request Timeout, answered by Node itself: the headers did not arrive within HTTP_HEADERS_TIMEOUT_MS or the whole request within HTTP_REQUEST_TIMEOUT_MS. No body; the connection is closed.",
  },
  "431": {
    description: `Request Header Fields Too Large, answered by Node itself: the start line and headers took more than ${MAX_HEADER_BYTES / 1024} KiB. No body; the connection is closed.`,
  },
};

/** The rule every query with `minPosition` enforces beyond its schema. */
const MIN_POSITION_RULE =
  "`minPosition`: at most the newest position of the log (send a `position` a command answered); a view that does not reach it within READ_YOUR_WRITES_TIMEOUT_MS answers 503 `position-not-reached`.";

const AS_OF_RULE =
  "`asOf`: a log position (digits, at most 2^53 - 1) or an RFC 3339 instant that exists on the calendar (not a leap second `:60`), from 2000 on and not in the future (the server's clock).";

const CURSOR_RULE = "`cursor`: a log position (`nextCursor` of the page before), at most 2^53 - 1.";

/**
 * An operation's rules beyond its schemas: its own, and those of the query parameters every query
 * that has them shares (the minPosition bound, the asOf moment, the log-position cursor of a history).
 */
export function rulesOf(operation: Operation): string[] {
  const query = operation.query as { properties?: Json } | undefined;
  const has = (name: string) => query?.properties !== undefined && name in query.properties;
  const texts = textFieldsOf(operation);
  return [
    ...(operation.rules ?? []),
    // Every instant a request names is read by one function (platform/http/instant-field.ts).
    ...instantFieldsOf(operation).map((name) => `\`${name}\`: ${INSTANT_RULE}`),
    ...(texts.length
      ? [
          `${texts.map((name) => `\`${name}\``).join(", ")}: checked after Unicode NFC normalization (a letter and its combining mark count as one character), so lengths and patterns apply to the normalized text.`,
        ]
      : []),
    ...(has("minPosition") ? [MIN_POSITION_RULE] : []),
    ...(has("asOf") ? [AS_OF_RULE] : []),
    ...(has("cursor") && operation.path.endsWith("/history") ? [CURSOR_RULE] : []),
  ];
}

/** The fields of an operation's query and body (every role's) that hold an RFC 3339 instant. */
function instantFieldsOf(operation: Operation): string[] {
  const schemas = [
    operation.query,
    operation.body?.schema,
    ...Object.values(operation.body?.byRole ?? {}),
  ] as ({ properties?: Record<string, Json> } | undefined)[];
  const names = new Set<string>();
  for (const schema of schemas)
    for (const [name, property] of Object.entries(schema?.properties ?? {}))
      if (property.format === "date-time") names.add(name);
  return [...names].sort();
}

/** The free-text fields of an operation's body (every role's): strings that are not instants. */
function textFieldsOf(operation: Operation): string[] {
  const body = operation.body;
  if (!body) return [];
  const schemas = [body.schema, ...Object.values(body.byRole ?? {})] as {
    properties?: Record<string, Json>;
  }[];
  const names = new Set<string>();
  for (const schema of schemas)
    for (const [name, property] of Object.entries(schema.properties ?? {}))
      if (property.type === "string" && property.format === undefined) names.add(name);
  return [...names].sort();
}

/**
 * The request body object: one schema, or, when the roles' bodies differ, any of them (`anyOf`)
 * with the schema of each role in `x-role-schemas` and a description saying so.
 */
export function requestBody(body: NonNullable<Operation["body"]>): Json {
  const byRole = Object.entries(body.byRole ?? {});
  return {
    required: body.required,
    ...(byRole.length
      ? {
          description: `Each role's body has its own schema: ${byRole.map(([role, schema]) => `a ${role} sends \`${String(schema.$id)}\``).join(", ")} (\`x-role-schemas\` names each).`,
          "x-role-schemas": Object.fromEntries(
            byRole.map(([role, schema]) => [role, ref(String(schema.$id))]),
          ),
        }
      : {}),
    content: {
      "application/json": {
        // Any role's body (the operator's is the customer's with more required): the schemas by
        // role are x-role-schemas.
        schema: byRole.length
          ? { anyOf: [...new Set(byRole.map(([, schema]) => String(schema.$id)))].map(ref) }
          : ref(String(body.schema.$id)),
        ...(body.example ? { example: body.example } : {}),
      },
    },
  };
}
