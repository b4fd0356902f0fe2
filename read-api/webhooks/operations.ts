import { header, jsonResponse, type Operation, pathParameter } from "../../platform/http/operation.js";
import { OPERATOR } from "../../schemas/actor.js";
import {
  CreateWebhookEndpointBody,
  ReplayWebhooksBody,
  WebhookAttemptPage,
  WebhookDeliveriesQuery,
  WebhookEndpointCreated,
  WebhookEndpointId,
  WebhookEndpointPage,
  WebhookEndpointView,
  WebhookReplayAccepted,
  WebhookSecretRotated,
} from "../../schemas/webhooks.js";

const ENDPOINT_ID = "we_5Xq8eYb2kP0Jm3Tn";
const endpointParameter = pathParameter("endpointId", WebhookEndpointId, ENDPOINT_ID);
const common = { side: "queries", allow: OPERATOR, tag: "operations" } as const;

/**
 * Outbound webhooks, operators only: the endpoints messages go to, their secrets, what
 * was delivered and a replay from a log position. Served by webhook-routes.ts; the delivery itself
 * is a reactor (projections/webhooks/).
 */
export const WEBHOOK_OPERATIONS = [
  {
    ...common,
    method: "post",
    path: "/webhook-endpoints",
    operationId: "createWebhookEndpoint",
    summary: "Register a webhook endpoint; its signing secret is in this answer only",
    description:
      "Messages of the chosen types are POSTed to `url`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), from the facts recorded after this call. The `secret` (`whsec_…`) is shown once: keep it to verify messages.",
    body: {
      schema: CreateWebhookEndpointBody,
      required: true,
      example: {
        url: "https://example.com/webhooks/parking",
        eventTypes: ["reservation.canceled", "reservation.no_show"],
        description: "city portal",
      },
    },
    rules: [
      "`url`: an absolute https:// URL (http:// and loopback, private or other special-purpose addresses, in any spelling, only where WEBHOOK_ALLOW_PRIVATE is set), without credentials or a fragment.",
    ],
    problems: ["too-many-webhook-endpoints", "store-unavailable"],
    responses: {
      "201": jsonResponse("Registered; `secret` is shown this once.", WebhookEndpointCreated, {
        Location: header("Location"),
      }),
    },
  },
  {
    ...common,
    method: "get",
    path: "/webhook-endpoints",
    operationId: "listWebhookEndpoints",
    summary: "List the webhook endpoints (without their secrets)",
    problems: ["store-unavailable"],
    responses: { "200": jsonResponse("Every endpoint, by id.", WebhookEndpointPage) },
  },
  {
    ...common,
    method: "get",
    path: "/webhook-endpoints/{endpointId}",
    operationId: "getWebhookEndpoint",
    summary: "One webhook endpoint: its types, whether it is disabled and why, what is still to send",
    parameters: [endpointParameter],
    problems: ["webhook-endpoint-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("The endpoint.", WebhookEndpointView) },
  },
  {
    ...common,
    method: "delete",
    path: "/webhook-endpoints/{endpointId}",
    operationId: "deleteWebhookEndpoint",
    summary:
      "Delete a webhook endpoint: nothing more is sent to it, and its queued messages and delivery records are deleted",
    parameters: [endpointParameter],
    problems: ["webhook-endpoint-not-found", "store-unavailable"],
    responses: {
      "204": { description: "Deleted.", headers: { "X-Correlation-Id": header("X-Correlation-Id") } },
    },
  },
  {
    ...common,
    method: "post",
    path: "/webhook-endpoints/{endpointId}/rotate-secret",
    operationId: "rotateWebhookSecret",
    summary: "A new signing secret; the previous one keeps signing beside it for 24 hours",
    parameters: [endpointParameter],
    problems: ["webhook-endpoint-not-found", "concurrency-conflict", "store-unavailable"],
    responses: { "200": jsonResponse("The new secret, shown this once.", WebhookSecretRotated) },
  },
  {
    ...common,
    method: "get",
    path: "/webhook-endpoints/{endpointId}/deliveries",
    operationId: "listWebhookDeliveries",
    summary: "The endpoint's delivery attempts, newest first: event, time, status code, latency, error",
    parameters: [endpointParameter],
    query: WebhookDeliveriesQuery,
    problems: ["webhook-endpoint-not-found", "store-unavailable"],
    responses: { "200": jsonResponse("A page of attempts, newest first.", WebhookAttemptPage) },
  },
  {
    ...common,
    method: "post",
    path: "/webhook-endpoints/{endpointId}/replay",
    operationId: "replayWebhooks",
    summary: "Send again every message of the endpoint's types from a log position on",
    description:
      "Queues again, with their original `webhook-id`, the messages of the facts at and after `fromPosition` (at most 1000 per call: `nextFromPosition` says where to go on). Overstays, which the clock brings, are not replayed.",
    parameters: [endpointParameter],
    body: { schema: ReplayWebhooksBody, required: true, example: { fromPosition: "1" } },
    problems: ["webhook-endpoint-not-found", "store-unavailable"],
    responses: { "202": jsonResponse("Queued.", WebhookReplayAccepted) },
  },
] as const satisfies readonly Operation[];
