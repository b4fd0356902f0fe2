import { randomBytes } from "node:crypto";

/**
 * The state the Stripe-contract server keeps, and the objects it answers with, shaped as Stripe's
 * API objects (checked against Stripe's OpenAPI document on every answer).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type IntentStatus =
  | "requires_payment_method"
  | "requires_confirmation"
  | "requires_action"
  | "processing"
  | "requires_capture"
  | "canceled"
  | "succeeded";

export interface Intent {
  id: string;
  created: number;
  amount: number;
  currency: string;
  captureMethod: "automatic" | "manual";
  confirmationMethod: "automatic" | "manual";
  status: IntentStatus;
  metadata: Record<string, string>;
  customer: string | null;
  paymentMethod: string | null;
  description: string | null;
  clientSecret: string;
  offSession: boolean;
  amountCapturable: number;
  amountReceived: number;
  /** What the card was authorized (or charged) for; captured + released once the intent is done. */
  authorized: number;
  released: number;
  refunded: number;
  refunds: string[];
  canceledAt: number | null;
  cancellationReason: string | null;
  lastError: JsonObject | null;
  latestCharge: string | null;
  nextAction: JsonObject | null;
  /** The automatic payment methods asked at creation (Stripe's default since 2023-08-16: enabled). */
  automaticPaymentMethods: { enabled: boolean; allowRedirects: "always" | "never" } | null;
  /** When the card authorized the amount (manual capture): the authorization lapses seven days on. */
  authorizedAt: number | null;
  /** Whether the payment method is to be saved to `customer` once the intent goes through. */
  setupFutureUsage: "off_session" | "on_session" | null;
}

export interface Refund {
  id: string;
  created: number;
  amount: number;
  currency: string;
  paymentIntent: string;
  charge: string | null;
  metadata: Record<string, string>;
  reason: string | null;
}

export interface Customer {
  id: string;
  created: number;
  email: string | null;
  name: string | null;
  description: string | null;
  metadata: Record<string, string>;
  paymentMethods: string[];
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "0").slice(0, 24)}`;
}

/**
 * The server's clock: the wall clock moved on by `offsetMs` (a test control, `advanceClock`), so a
 * test can let an authorization run out (seven days) without waiting.
 */
export const clock = { offsetMs: 0 };

export function now(): number {
  return Math.floor((Date.now() + clock.offsetMs) / 1000);
}

export function intentObject(intent: Intent): JsonObject {
  return {
    id: intent.id,
    object: "payment_intent",
    amount: intent.amount,
    amount_capturable: intent.amountCapturable,
    amount_received: intent.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: intent.automaticPaymentMethods
      ? {
          enabled: intent.automaticPaymentMethods.enabled,
          allow_redirects: intent.automaticPaymentMethods.allowRedirects,
        }
      : null,
    canceled_at: intent.canceledAt,
    cancellation_reason: intent.cancellationReason,
    capture_method: intent.captureMethod,
    client_secret: intent.clientSecret,
    confirmation_method: intent.confirmationMethod,
    created: intent.created,
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    invoice: null,
    last_payment_error: intent.lastError,
    latest_charge: intent.latestCharge,
    livemode: false,
    metadata: intent.metadata,
    next_action: intent.nextAction,
    on_behalf_of: null,
    payment_method: intent.paymentMethod,
    payment_method_options: {},
    payment_method_types: ["card"],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: intent.setupFutureUsage ?? null,
    shipping: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: intent.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function refundObject(refund: Refund): JsonObject {
  return {
    id: refund.id,
    object: "refund",
    amount: refund.amount,
    balance_transaction: null,
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    metadata: refund.metadata,
    payment_intent: refund.paymentIntent,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
  };
}

export function customerObject(customer: Customer): JsonObject {
  return {
    id: customer.id,
    object: "customer",
    created: customer.created,
    default_source: null,
    description: customer.description,
    email: customer.email,
    invoice_settings: {
      custom_fields: null,
      default_payment_method: customer.paymentMethods[0] ?? null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: customer.metadata,
    name: customer.name,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

export function paymentMethodObject(
  id: string,
  brand: string,
  last4: string,
  customer: string | null,
): JsonObject {
  const check = { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" };
  return {
    id,
    object: "payment_method",
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
    },
    card: {
      brand,
      checks: check,
      country: "US",
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: `fp${last4}`,
      funding: "credit",
      generated_from: null,
      last4,
      networks: { available: [brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: 1700000000,
    customer,
    livemode: false,
    metadata: {},
    type: "card",
  };
}

export function eventObject(
  type: string,
  object: JsonObject,
  request: { id: string | null; idempotencyKey: string | null },
  apiVersion: string,
): JsonObject {
  return {
    id: newId("evt"),
    object: "event",
    api_version: apiVersion,
    created: now(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: request.id, idempotency_key: request.idempotencyKey },
    type,
  };
}
