import type { Json } from "../../platform/http/operation.js";
import { plain } from "../../platform/http/operation.js";
import { WEBHOOK_EVENT_TYPES, WebhookDataSchemas, webhookMessageSchema } from "../../schemas/webhooks.js";

/**
 * The OpenAPI 3.1 `webhooks` of the document: the messages this service POSTs to the endpoints
 * operators register, one per event type, with the Standard Webhooks headers (issue 35).
 */
const SIGNED_HEADERS: Json[] = [
  {
    name: "webhook-id",
    in: "header",
    required: true,
    description: "The message's id: the same on every retry (deduplicate by it).",
    schema: { type: "string", example: "msg_0b8f6c1e-5d0a-4f57-b1a4-7c2e9d3f8a60" },
  },
  {
    name: "webhook-timestamp",
    in: "header",
    required: true,
    description:
      "When this attempt was signed, in seconds since the epoch (refuse messages too far from now).",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  {
    name: "webhook-signature",
    in: "header",
    required: true,
    description:
      "Space-separated `v1,<base64>` HMAC-SHA256 signatures of `{webhook-id}.{webhook-timestamp}.{body}`: one per secret that signs now (two for 24 h after a rotation).",
    schema: { type: "string" },
  },
];

export const WEBHOOKS: Json = Object.fromEntries(
  WEBHOOK_EVENT_TYPES.map((type) => [
    type,
    {
      post: {
        operationId: `webhook.${type}`,
        summary: WebhookDataSchemas[type].description,
        tags: ["operations"],
        // Sent by this service to the endpoint's URL: no bearer token (the signature is the proof).
        security: [],
        parameters: SIGNED_HEADERS,
        requestBody: {
          required: true,
          content: { "application/json": { schema: plain(webhookMessageSchema(type)) } },
        },
        responses: {
          "2XX": {
            description:
              "Received: any 2xx. Anything else (or no answer in 10 s) is retried; 410 disables the endpoint.",
          },
        },
      },
    },
  ]),
);
