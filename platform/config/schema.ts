import { type Static, Type } from "@sinclair/typebox";
import { AUTH_SETTINGS } from "./schema-auth.js";
import { PAYMENT_SETTINGS } from "./schema-payments.js";
import { SERVICE_SETTINGS } from "./schema-service.js";
import { SURFACE_SETTINGS } from "./schema-surface.js";
import { WEBHOOK_SETTINGS } from "./schema-webhooks.js";

/**
 * The configuration: one TypeBox schema whose properties are the settings, each annotated with
 * its environment variable, default and meaning (see setting.ts). The `Config` type is its static
 * type, the parser is derived from it (variables.ts) and so is the docs table
 * (deploy/config-table.ts). Property order is the documentation's.
 */
export const ConfigSchema = Type.Object(
  { ...SERVICE_SETTINGS, ...AUTH_SETTINGS, ...SURFACE_SETTINGS, ...WEBHOOK_SETTINGS, ...PAYMENT_SETTINGS },
  { additionalProperties: false },
);

/** A value the process only reads: lists and maps included. */
type Frozen<T> = {
  readonly [K in keyof T]: T[K] extends readonly (infer U)[]
    ? readonly U[]
    : T[K] extends Record<string, unknown>
      ? Readonly<T[K]>
      : T[K];
};

/** The process configuration, read once from the environment at start-up. */
export type Config = Frozen<Static<typeof ConfigSchema>>;
