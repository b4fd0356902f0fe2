import { useState } from "preact/hooks";
import type { ReservationQuery } from "./api.js";
import { type MessageId, t, tCode } from "./i18n.js";

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
const FIND_BY = { customerId: "find.customerId", carNumber: "find.carNumber" } as const satisfies Partial<
  Record<keyof ReservationQuery, MessageId>
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
    <form class="find" onSubmit={find} aria-label={t("find.label")}>
      <label>
        {t("find.by")}
        <select
          value={findBy}
          onChange={(e) => {
            const by = e.currentTarget.value;
            if (isFindBy(by)) setFindBy(by);
          }}
        >
          {Object.entries(FIND_BY).map(([by, label]) => (
            <option value={by} key={by}>
              {t(label)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t(FIND_BY[findBy])}
        <input
          value={needle}
          onInput={(e) => setNeedle(e.currentTarget.value)}
          placeholder={findBy === "customerId" ? "CUST1" : "8612 or 10더8612"}
        />
      </label>
      <label>
        {t("find.status")}
        <select
          value={props.status}
          onChange={(e) => {
            const value = e.currentTarget.value;
            props.onStatus(isStatus(value) ? value : "");
          }}
        >
          <option value="">{t("find.everyStatus")}</option>
          {STATUSES.map((s) => (
            <option value={s} key={s}>
              {tCode("status", s)}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{t("find.submit")}</button>
      {props.applied ? (
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setNeedle("");
            props.onFind(null);
          }}
        >
          {t("find.showAll")}
        </button>
      ) : null}
    </form>
  );
}
