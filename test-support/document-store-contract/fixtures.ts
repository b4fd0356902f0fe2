import type { DocumentStore, IndexSpec, WriteOp } from "../../document-store/port.js";

export interface OpenedDocumentStore {
  readonly store: DocumentStore;
  readonly dispose: () => Promise<void>;
}

/** The indexes the reservation read model declares (the access paths the query API needs). */
export const RESERVATION_INDEXES: readonly IndexSpec[] = [
  { name: "parkingLotId_1_seq_-1", keys: { parkingLotId: 1, seq: -1 } },
  { name: "status_1_seq_-1", keys: { status: 1, seq: -1 } },
  { name: "customerId_1_seq_-1", keys: { customerId: 1, seq: -1 } },
  { name: "parkingLotId_1_heldUntil_1", keys: { parkingLotId: 1, heldUntil: 1 } },
  { name: "status_1_heldFrom_1", keys: { status: 1, heldFrom: 1 } },
  { name: "parkingLotId_1_startsAt_1", keys: { parkingLotId: 1, startsAt: 1 } },
  { name: "startsAt_1", keys: { startsAt: 1 } },
];

export const COUPON_INDEXES: readonly IndexSpec[] = [
  { name: "customerId_1_issuedAt_-1", keys: { customerId: 1, issuedAt: -1 } },
];

export type Doc = Record<string, unknown> & { _id: string };

export type Reservation = {
  _id: string;
  parkingLotId: string;
  customerId: string;
  status: "RESERVED" | "CANCELED";
  seq: number;
  amount: number;
  carNumber: string;
  coupon: { status: "ISSUED" | "REVOKED" };
};

export function reservation(i: number): Reservation {
  return {
    _id: `r${String(i).padStart(4, "0")}`,
    parkingLotId: `L${i % 3}`,
    customerId: `C${i % 5}`,
    status: i % 4 === 0 ? "CANCELED" : "RESERVED",
    seq: i,
    amount: (i * 37) % 100,
    carNumber: `${10 + (i % 90)}더${String(1000 + i).slice(-4)}`,
    coupon: { status: i % 4 === 0 ? "REVOKED" : "ISSUED" },
  };
}

export const byId = (a: { _id: string }, b: { _id: string }) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
export const ids = (docs: readonly { _id: string }[]) => docs.map((d) => d._id);

/** What each part of the contract is given: the store under test and fresh collections. */
export interface ContractContext {
  readonly store: () => DocumentStore;
  /** A fresh collection name for this test, dropped after it. */
  readonly collection: (label: string) => string;
  readonly upsert: (c: string, id: string, update: Record<string, unknown>) => WriteOp;
  readonly seedReservations: (c: string, n: number) => Promise<Reservation[]>;
}
