import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from "node:crypto";
import type { TSchema } from "@sinclair/typebox";
import type { DataKey, DataKeys } from "../platform/data-keys/port.js";
import { EVENT_DEFINITIONS, EventDataSchemas, type EventType } from "./events.js";

/**
 * Crypto-shredding at the codec edge (issue 36). An event's personal fields, the properties its
 * schema marks with `Personal(...)` (schemas/common.ts), are written to the log sealed with
 * AES-256-GCM under the data key of the event's `customerId` (the person they are about), and
 * opened again when the event is read. Erasing a customer deletes their keys: from then on every
 * reader of the log (the decider, projections and their rebuilds, the audit trail, time travel,
 * webhooks) gets `erased` in place of those fields. What is not marked (reservation and lot ids,
 * times, amounts, capacities) is stored as it is, so counts, capacity and money stay exact.
 *
 * A customer's own actions also name them in the event's metadata (`actor.sub` with role
 * `customer`): that is sealed under their key too. Staff and system actors are not sealed.
 *
 * A sealed value is `pii1.<key id>.<iv>.<tag>.<ciphertext>` (base64url). A value without that
 * prefix (an event written before this version) is read as it is. Without keys installed
 * (`usePersonalDataKeys`) nothing is sealed: tests of the codec alone, and the benches.
 */
export const ERASED = "erased";
/** The field whose value names the person whose key seals an event's personal fields. */
export const SUBJECT_FIELD = "customerId";
const SEALED_PREFIX = "pii1.";

let installed: DataKeys | undefined;

/** The data keys this process seals and opens with (the composition root installs them at start). */
export function usePersonalDataKeys(keys: DataKeys | undefined): void {
  installed = keys;
}

export const personalDataKeys = (): DataKeys | undefined => installed;

/** Runs `work` (synchronous) with `keys` installed instead: a warm-up seals under keys of its own. */
export function withPersonalDataKeys<T>(keys: DataKeys, work: () => T): T {
  const before = installed;
  installed = keys;
  try {
    return work();
  } finally {
    installed = before;
  }
}

const isPersonal = (schema: TSchema): boolean =>
  (schema as { "x-personal"?: unknown })["x-personal"] === true;

/** The personal properties of a schema, as paths: `carNumber`, or `payment.method` one object down. */
function personalPaths(schema: TSchema): string[] {
  return Object.entries((schema.properties ?? {}) as Record<string, TSchema>).flatMap(([name, property]) => {
    if (isPersonal(property)) return [name];
    if (property.type !== "object") return [];
    return Object.entries((property.properties ?? {}) as Record<string, TSchema>)
      .filter(([, inner]) => isPersonal(inner))
      .map(([inner]) => `${name}.${inner}`);
  });
}

/** The personal properties of each event type, read from the schemas' `Personal` marks. */
export const PERSONAL_FIELDS: Readonly<Record<EventType, readonly string[]>> = Object.fromEntries(
  Object.entries(EventDataSchemas).map(([type, schema]) => [type, personalPaths(schema)]),
) as unknown as Record<EventType, readonly string[]>;

type PersonalValues = (
  data: Record<string, unknown>,
  each: (subject: string, value: string) => string,
  reading?: boolean,
) => Record<string, unknown>;

/** The event types whose definitions say where their unmarked personal values are (`personalValues`). */
const PERSONAL_VALUES: ReadonlyMap<string, PersonalValues> = new Map(
  Object.entries(EVENT_DEFINITIONS).flatMap(([type, definition]) => {
    const values = (definition as { personalValues?: PersonalValues }).personalValues;
    return values ? [[type, values] as const] : [];
  }),
);

/**
 * Whether events of `type` carry personal values beyond their marked fields (`personalValues`): a
 * lot period's opening, which holds the lot's live state (every active booking: up to the event
 * store's largest write).
 */
export const hasPersonalValues = (type: string): boolean => PERSONAL_VALUES.has(type);

export const isSealed = (value: unknown): value is string =>
  typeof value === "string" && value.startsWith(SEALED_PREFIX);

/** GCM's 96-bit IVs, drawn from the CSPRNG many at a time: one call per value cost more than its AES. */
const IV_BYTES = 12;
const IVS_PER_DRAW = 1024;
let ivPool = Buffer.alloc(0);
let ivAt = 0;

/** A random IV never handed out before (each pool is fresh random bytes; each slice is used once). */
function freshIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IVS_PER_DRAW);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

/** `plain` sealed under the subject's key; `erased` for a subject erased already. */
function seal(keys: DataKeys, subject: string, plain: string): string {
  return sealUnder(keys.keyFor(subject), plain);
}

/** `plain` sealed under `current` (the subject's key, looked up once for all their values); `erased` without one. */
function sealUnder(current: DataKey | undefined, plain: string): string {
  if (!current) return ERASED;
  const { id, key } = current;
  const iv = freshIv();
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  // The key id is authenticated with the value: a value cannot be moved under another key.
  cipher.setAAD(Buffer.from(id, "utf8"));
  const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return `${SEALED_PREFIX}${[id, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), sealed.toString("base64url")].join(".")}`;
}

/** How a reader finds a key by its id: the installed store's, or one event's memo of it (`keyLookups`). */
export type KeyLookup = (id: string) => KeyObject | undefined;

/**
 * A lookup that asks the installed key store once per key id and remembers the answer (a key, or
 * none: erased or unknown), for the values of one event: its fields, its other personal values and
 * its actor are sealed under its customer's key (issue 50: a `SELECT` per field was 3.8% of the
 * processors' thread). Scoped to one event on purpose: a key erased meanwhile is gone for the next.
 */
export function keyLookups(keys: DataKeys | undefined = installed): KeyLookup {
  let lastId: string | undefined;
  let lastKey: KeyObject | undefined;
  let others: Map<string, KeyObject | undefined> | undefined;
  return (id) => {
    if (id === lastId) return lastKey;
    if (lastId === undefined) {
      lastId = id;
      lastKey = keys?.key(id);
      return lastKey;
    }
    others ??= new Map();
    if (!others.has(id)) others.set(id, keys?.key(id));
    return others.get(id);
  };
}

/** The plaintext of a sealed value, or `erased` when its key is gone (or the value is not whole). */
function open(sealed: string, keyOf: KeyLookup): string {
  const [id, iv, tag, data] = sealed.slice(SEALED_PREFIX.length).split(".");
  const key = id && keyOf(id);
  if (!key || !iv || !tag || data === undefined) return ERASED;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(id, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    return ERASED;
  }
}

const fieldsOf = (type: string): readonly string[] =>
  Object.hasOwn(PERSONAL_FIELDS, type) ? PERSONAL_FIELDS[type as EventType] : [];

/** An event's data with its personal fields sealed under its customer's key (as it is without keys). */
export function sealPersonalFields(
  type: string,
  data: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const keys = installed;
  const values = PERSONAL_VALUES.get(type);
  if (!keys) return data;
  const marked = sealMarkedFields(keys, type, data);
  if (!values) return marked;
  // One value of one customer is sealed once per event and its sealed form repeated (the same
  // ciphertext, never a second encryption under the same IV): an opening names a customer in
  // its index and in each of their bookings.
  const sealedOnce = new Map<string, string>();
  // Each customer's key is looked up once per event (an opening names a customer's id and plates):
  // a key store's lookup (a pseudonym's HMAC and a read) costs more than the AES of a short value.
  const keyOf = new Map<string, DataKey | undefined>();
  return values(marked, (subject, value) => {
    // Already sealed, or nothing to seal (an erased customer's, or no value).
    if (value === "" || value === ERASED || isSealed(value)) return value;
    const key = `${subject}\u0000${value}`;
    const known = sealedOnce.get(key);
    if (known !== undefined) return known;
    if (!keyOf.has(subject)) keyOf.set(subject, keys.keyFor(subject));
    const sealed = sealUnder(keyOf.get(subject), value);
    sealedOnce.set(key, sealed);
    return sealed;
  });
}

function sealMarkedFields(
  keys: DataKeys,
  type: string,
  data: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const fields = fieldsOf(type);
  if (fields.length === 0) return data;
  const subject = data[SUBJECT_FIELD];
  if (typeof subject !== "string") throw new Error(`${type} has personal fields but no ${SUBJECT_FIELD}`);
  const sealed: Record<string, unknown> = { ...data };
  // The subject's key looked up once for all the event's fields (a pseudonym's HMAC and a read each).
  let key: DataKey | undefined | null = null;
  const sealValue = (value: unknown): unknown => {
    // Already sealed: an event relayed by another thread of the process (the processors thread).
    if (typeof value !== "string" || value === ERASED || isSealed(value)) return value;
    if (key === null) key = keys.keyFor(subject);
    return sealUnder(key, value);
  };
  for (const field of fields) {
    const [outer, inner] = field.split(".") as [string, string | undefined];
    if (inner === undefined) {
      sealed[field] = sealValue(data[field]);
      continue;
    }
    const nested = data[outer];
    if (nested !== null && typeof nested === "object" && inner in nested)
      sealed[outer] = { ...nested, [inner]: sealValue((nested as Record<string, unknown>)[inner]) };
  }
  return sealed;
}

/**
 * An event's data as written, its sealed fields opened (or `erased`), one object down too, and for
 * a type whose definition lists other personal values (`personalValues`), those.
 */
export function openPersonalFields(data: unknown, type?: string, keyOf: KeyLookup = keyLookups()): unknown {
  const values = type === undefined ? undefined : PERSONAL_VALUES.get(type);
  // Each key is read once per event (a customer's id, plate and payment are sealed under the same one).
  const opened = openObject(data, true, keyOf);
  if (!values || opened === null || typeof opened !== "object") return opened;
  keyOf = withKeysRead(values, opened as Record<string, unknown>, keyOf);
  const openedOnce = new Map<string, string>();
  return values(
    opened as Record<string, unknown>,
    (_, value) => {
      if (!isSealed(value)) return value;
      const known = openedOnce.get(value);
      if (known !== undefined) return known;
      const plain = open(value, keyOf);
      openedOnce.set(value, plain);
      return plain;
    },
    true,
  );
}

/**
 * `keyOf`, with the keys of every sealed value among `values` of `data` read first at once when the
 * installed store can (`keysOf`): a cold lot's opening names one key per customer (issue 68). A key
 * not found there (erased, unknown) is asked of `keyOf` as before.
 */
function withKeysRead(values: PersonalValues, data: Record<string, unknown>, keyOf: KeyLookup): KeyLookup {
  const store = installed;
  if (!store?.keysOf) return keyOf;
  const ids = new Set<string>();
  values(
    data,
    (_, value) => {
      if (isSealed(value))
        ids.add(value.slice(SEALED_PREFIX.length, value.indexOf(".", SEALED_PREFIX.length)));
      return value;
    },
    true,
  );
  if (ids.size < 2) return keyOf;
  const found = store.keysOf([...ids]);
  return (id) => found.get(id) ?? keyOf(id);
}

/**
 * Issue 68: who a sealed value is about, without opening it: the name of the key it is sealed under
 * (one key per customer), as a lot's state holds a booking loaded sealed (`\u0001` and the key id's
 * first HOLDER_ID_CHARS: no customer id or plate has that character). `holderOf` names a customer's
 * values sealed now so. 16 characters at most: immutable.js hashes a longer key through a cache
 * of interned strings (~1 µs a key, a quarter of a cold lot's fold of its bookings); 15 of a key id's
 * 22 (128 random bits) keep 90, so that no two customers' keys share a name.
 */
export const sealedHolder = (sealed: string): string => `\u0001${holderId(keyIdOf(sealed))}`;
const HOLDER_ID_CHARS = 15;
const holderId = (keyId: string): string => keyId.slice(0, HOLDER_ID_CHARS);
/** The id of the key a sealed value is sealed under (`pii1.<key id>.…`). */
const keyIdOf = (sealed: string): string =>
  sealed.slice(SEALED_PREFIX.length, sealed.indexOf(".", SEALED_PREFIX.length));
/**
 * A read, never a key made: a customer with no key has no value sealed, so no booking held under a
 * key's name to count (undefined is exact), and a booking refused (the lot full, the limit
 * reached) leaves no key behind. Looked up here, when the decider finds the lot holds bookings
 * loaded sealed, rather than by the command handler before deciding: only then is it needed, the
 * state opens its sealed entries through the same installed keys, and it is read at the decision,
 * not before the command's wait in the lot's lane.
 */
export function holderOf(subject: string): string | undefined {
  const key = installed?.existingKeyFor(subject);
  return key && `\u0001${holderId(key.id)}`;
}

/** Sealed values opened, each its plaintext or `erased`, their keys read at once when the store can. */
export function openSealedValues(values: readonly string[]): string[] {
  const ids = [...new Set(values.map(keyIdOf))];
  const found = ids.length > 1 ? installed?.keysOf?.(ids) : undefined;
  const keyOf = keyLookups();
  return values.map((value) => open(value, (id) => found?.get(id) ?? keyOf(id)));
}

/**
 * Issue 68: `data` as its schema checks it when it is read sealed (event-codec.ts, decodeSealedEvent):
 * each sealed value of its personal fields (`type`'s), or of its actor's `sub` (metadata: no type),
 * as `erased`, which every personal field accepts. A sealed value is checked for its form alone
 * (`pii1.`): its plaintext was checked when it was written, and opening a bad one reads `erased`.
 */
export function sealedAsErased(data: unknown, type?: string): unknown {
  if (data === null || typeof data !== "object") return data;
  const record = data as Record<string, unknown>;
  if (type === undefined) {
    const actor = record.actor as { sub?: unknown } | undefined;
    return actor && isSealed(actor.sub) ? { ...record, actor: { ...actor, sub: ERASED } } : data;
  }
  let checked: Record<string, unknown> | undefined;
  for (const field of fieldsOf(type)) {
    const [outer, inner] = field.split(".") as [string, string | undefined];
    const nested = (checked ?? record)[outer] as Record<string, unknown> | undefined;
    if (inner === undefined ? !isSealed(nested) : !isSealed(nested?.[inner])) continue;
    checked ??= { ...record };
    checked[outer] = inner === undefined ? ERASED : { ...nested, [inner]: ERASED };
  }
  return checked ?? data;
}

function openObject(data: unknown, outer: boolean, keyOf: KeyLookup): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return data;
  let opened: Record<string, unknown> | undefined;
  for (const [field, value] of Object.entries(data)) {
    const read = isSealed(value) ? open(value, keyOf) : outer ? openObject(value, false, keyOf) : value;
    if (read === value) continue;
    opened ??= { ...(data as Record<string, unknown>) };
    opened[field] = read;
  }
  return opened ?? data;
}

interface ActorLike {
  readonly sub: string;
  readonly role: string;
}

/** A customer actor's `sub` sealed under their own key; other actors as they are. */
export function sealActor<A extends ActorLike>(actor: A): A {
  const keys = installed;
  if (!keys || actor.role !== "customer" || actor.sub === ERASED || isSealed(actor.sub)) return actor;
  return { ...actor, sub: seal(keys, actor.sub, actor.sub) };
}

/** Metadata as written, a sealed actor's `sub` opened (or `erased`). */
export function openActor(metadata: unknown, keyOf: KeyLookup = keyLookups()): unknown {
  const actor = (metadata as { actor?: { sub?: unknown } } | null)?.actor;
  if (!actor || !isSealed(actor.sub)) return metadata;
  return { ...(metadata as object), actor: { ...actor, sub: open(actor.sub, keyOf) } };
}
