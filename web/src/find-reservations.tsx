import { useState } from "preact/hooks";
import type { ReservationQuery } from "./api.js";

/** Every status a reservation can have, as the document lists them (the status filter's options). */
export const STATUSES = [
  "RESERVED",
  "CHECKED_IN",
  "OVERSTAYING",
  "COMPLETED",
  "NO_SHOW",
  "CANCELED",
] as const satisfies readonly NonNullable<ReservationQuery["status"]>[];
export type Status = (typeof STATUSES)[number];
const isStatus = (value: string): value is Status => (STATUSES as readonly string[]).includes(value);

/**
 * What a lot's reservations can be found by, as GET /reservations names its parameters (a
 * parameter renamed in the document no longer satisfies this).
 */
const FIND_BY = { customerId: "Customer id", carNumber: "Plate or part of it" } as const satisfies Partial<
  Record<keyof ReservationQuery, string>
>;
export type FindBy = keyof typeof FIND_BY;
const isFindBy = (value: string): value is FindBy => Object.hasOwn(FIND_BY, value);

/** Reservations found by customer or plate (applied on Find), and by status (applied at once). */
export function FindForm(props: {
  readonly status: Status | "";
  /** Whether a search by customer or plate is applied (Show all then undoes it). */
  readonly applied: boolean;
  readonly onFind: (found: { by: FindBy; value: string } | null) => void;
  readonly onStatus: (status: Status | "") => void;
}) {
  const [findBy, setFindBy] = useState<FindBy>("customerId");
  const [needle, setNeedle] = useState("");
  const find = (event: Event) => {
    event.preventDefault();
    props.onFind(needle.trim() ? { by: findBy, value: needle.trim() } : null);
  };
  return (
    <form class="find" onSubmit={find} aria-label="Find reservations in this lot">
      <label>
        Find by
        <select
          value={findBy}
          onChange={(e) => {
            const by = e.currentTarget.value;
            if (isFindBy(by)) setFindBy(by);
          }}
        >
          {Object.entries(FIND_BY).map(([by, label]) => (
            <option value={by} key={by}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        {FIND_BY[findBy]}
        <input
          value={needle}
          onInput={(e) => setNeedle(e.currentTarget.value)}
          placeholder={findBy === "customerId" ? "CUST1" : "8612 or 10더8612"}
        />
      </label>
      <label>
        Status
        <select
          value={props.status}
          onChange={(e) => {
            const value = e.currentTarget.value;
            props.onStatus(isStatus(value) ? value : "");
          }}
        >
          <option value="">Every status</option>
          {STATUSES.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Find</button>
      {props.applied ? (
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setNeedle("");
            props.onFind(null);
          }}
        >
          Show all
        </button>
      ) : null}
    </form>
  );
}
