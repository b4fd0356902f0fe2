import type { Static } from "@sinclair/typebox";
import type { RequestHandler } from "express";
import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import { WriteConditionFailedError } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import { formatPosition, parsePositionToken } from "../../event-store/position.js";
import { type HandlersOf, operationRouter } from "../../platform/http/operation-routes.js";
import { targetUrlProblem } from "../../platform/http/outbound.js";
import { invalidField, ProblemError } from "../../platform/http/problem.js";
import type { SecretBox } from "../../platform/secret-box.js";
import {
  enqueueOp,
  WEBHOOK_ATTEMPTS,
  WEBHOOK_DELIVERIES,
} from "../../projections/webhooks/delivery-queue.js";
import {
  type EndpointDocument,
  endpointView,
  WebhookEndpoints,
} from "../../projections/webhooks/endpoints.js";
import { MAPPED_EVENT_TYPES, messagesOf, queuedAt } from "../../projections/webhooks/messages.js";
import { decodeEvent } from "../../schemas/event-codec.js";
import {
  MAX_WEBHOOK_ENDPOINTS,
  type WebhookAttemptView,
  type WebhookDeliveriesQuery,
} from "../../schemas/webhooks.js";
import { everyLotOnly } from "../access.js";
import { WEBHOOK_OPERATIONS } from "./operations.js";

/**
 * What the webhook routes need. Their times are the wall clock's, not the service's domain clock
 * (which tests may move): an endpoint hears the facts recorded after its creation, and a rotated
 * secret signs for 24 real hours.
 */
export interface WebhookRoutesOptions {
  readonly documentStore: DocumentStore;
  readonly eventStore: EventStore;
  readonly box: SecretBox;
  readonly allowPrivate: boolean;
}

/** The most messages one replay call queues. */
const REPLAY_MAX = 1000;
/** The most queued deliveries an endpoint's `pending` counts. */
const PENDING_COUNTED = 10_000;

type AttemptDocument = Document &
  Omit<WebhookAttemptView, "position"> & { readonly commit: number; readonly endpointId: string };

/** The webhook endpoints' operations (operations.ts), each one handler. */
export function webhookRoutes(options: WebhookRoutesOptions): RequestHandler {
  const { documentStore: store } = options;
  const endpoints = new WebhookEndpoints(store, options.box);
  const pendingOf = async (id: string) =>
    (
      await store.countBy(WEBHOOK_DELIVERIES, { endpointId: id }, "endpointId", { limit: PENDING_COUNTED })
    ).get(id) ?? 0;
  const found = async (id: string): Promise<EndpointDocument> => {
    const doc = await endpoints.get(id);
    if (!doc) throw new ProblemError("webhook-endpoint-not-found", `There is no webhook endpoint ${id}.`);
    return doc;
  };
  const handlers: HandlersOf<typeof WEBHOOK_OPERATIONS> = {
    createWebhookEndpoint: async (_req, res, _next, { body }) => {
      const problem = targetUrlProblem(body.url, options.allowPrivate);
      if (problem) throw invalidField("body.url", problem, "The request body is invalid.");
      if ((await endpoints.list(MAX_WEBHOOK_ENDPOINTS)).length >= MAX_WEBHOOK_ENDPOINTS)
        throw new ProblemError("too-many-webhook-endpoints", `At most ${MAX_WEBHOOK_ENDPOINTS} endpoints.`);
      const { doc, secret } = await endpoints.create(body, new Date());
      res
        .status(201)
        .location(`/webhook-endpoints/${doc._id}`)
        .json({ ...endpointView(doc, 0), secret });
    },
    listWebhookEndpoints: async (_req, res) => {
      const docs = await endpoints.list(MAX_WEBHOOK_ENDPOINTS);
      const items = await Promise.all(docs.map(async (doc) => endpointView(doc, await pendingOf(doc._id))));
      res.json({ items });
    },
    getWebhookEndpoint: async (_req, res, _next, { path }) => {
      const doc = await found(path.endpointId);
      res.json(endpointView(doc, await pendingOf(doc._id)));
    },
    deleteWebhookEndpoint: async (_req, res, _next, { path }) => {
      const doc = await found(path.endpointId);
      await endpoints.delete(doc._id);
      res.status(204).end();
    },
    rotateWebhookSecret: async (_req, res, _next, { path }) => {
      const doc = await found(path.endpointId);
      try {
        const { secret, previousExpiresAt } = await endpoints.rotate(doc, new Date());
        res.json({ id: doc._id, secret, previousSecretExpiresAt: previousExpiresAt });
      } catch (error) {
        if (!(error instanceof WriteConditionFailedError)) throw error;
        throw new ProblemError(
          "concurrency-conflict",
          "The secret was rotated at the same time; rotate again.",
        );
      }
    },
    listWebhookDeliveries: async (_req, res, _next, { path, query }) => {
      const doc = await found(path.endpointId);
      res.json(await attemptsPage(store, doc._id, query));
    },
    replayWebhooks: async (_req, res, _next, { path, body }) => {
      const doc = await found(path.endpointId);
      const position = parsePositionToken(body.fromPosition);
      if (!position)
        throw invalidField(
          "body.fromPosition",
          "is beyond any position of the log",
          "The request body is invalid.",
        );
      res.status(202).json(await replay(options, doc, position.commit));
    },
  };
  // An endpoint hears the facts of every lot: an operator scoped to some would read the others' customers.
  return operationRouter(WEBHOOK_OPERATIONS, handlers, {
    around: (handler) => everyLotOnly(handler, "Webhook endpoints receive the facts of every lot"),
  });
}

/** A page of an endpoint's attempts, newest first (one index range: attempt ids sort by endpoint, then time). */
async function attemptsPage(
  store: DocumentStore,
  endpointId: string,
  query: Static<typeof WebhookDeliveriesQuery>,
) {
  const limit = query.limit ?? 50;
  const prefix = `${endpointId}:`;
  if (query.cursor !== undefined && !query.cursor.startsWith(prefix))
    throw invalidField(
      "query.cursor",
      "is not a cursor of this endpoint's deliveries",
      "The request query is invalid.",
    );
  const page = await store.find<AttemptDocument>(
    WEBHOOK_ATTEMPTS,
    { endpointId, ...(query.cursor ? { _id: { $lt: query.cursor } } : {}) },
    { sort: { _id: -1 }, limit: limit + 1 },
  );
  const items = page.slice(0, limit).map(({ _id, commit, endpointId: _e, ...attempt }) => ({
    ...attempt,
    position: String(commit),
  }));
  return { items, nextCursor: page.length > limit ? (page[limit - 1]?._id ?? null) : null };
}

/** Queues again the endpoint's messages from `commit` on (at most REPLAY_MAX), in log order. */
async function replay(options: WebhookRoutesOptions, endpoint: EndpointDocument, commit: number) {
  const now = new Date().toISOString();
  const ops: WriteOp[] = [];
  const from = commit > 0 ? { from: { commit: commit - 1, prepare: commit - 1 } } : {};
  for await (const record of options.eventStore.readAll({
    ...from,
    filter: { eventTypes: [...MAPPED_EVENT_TYPES] },
  })) {
    if (ops.length >= REPLAY_MAX) {
      return { enqueued: ops.length, nextFromPosition: formatPosition(record.position) };
    }
    for (const mapped of messagesOf(decodeEvent(record))) {
      if (!endpoint.eventTypes.includes(mapped.message.type)) continue;
      ops.push(enqueueOp(endpoint._id, queuedAt(record.id, mapped, record.position), now, true));
      if (ops.length % 200 === 0) await options.documentStore.write(ops.slice(-200));
    }
  }
  const rest = ops.slice(ops.length - (ops.length % 200));
  if (rest.length) await options.documentStore.write(rest);
  return { enqueued: ops.length, nextFromPosition: null };
}
