import type { Map as ImmutableMap } from "immutable";
import { Set as ImmutableSet } from "immutable";

/** The lot's id-set indexes (per customer, per plate): add an id under a key, take it out. */

export function remember(
  index: ImmutableMap<string, ImmutableSet<string>>,
  key: string,
  id: string,
): ImmutableMap<string, ImmutableSet<string>> {
  return index.set(key, (index.get(key) ?? ImmutableSet<string>()).add(id));
}

export function forget(
  byCustomer: ImmutableMap<string, ImmutableSet<string>>,
  customerId: string,
  id: string,
): ImmutableMap<string, ImmutableSet<string>> {
  const ids = byCustomer.get(customerId)?.delete(id);
  return ids?.size ? byCustomer.set(customerId, ids) : byCustomer.delete(customerId);
}
