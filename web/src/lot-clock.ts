import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { type Clock, clockOf } from "./format.js";

/**
 * The clock of the lot being shown (issue 49): the lot's page provides it (lot-detail.tsx), and
 * every time its parts show or read is on it. Outside a lot, the browser's zone. Apart from
 * format.ts, which stays free of preact (the service's typecheck reads it through the page's tests).
 */
export const LotClock = createContext<Clock>(clockOf(Intl.DateTimeFormat().resolvedOptions().timeZone));
/** The clock of the lot being shown. */
export const useClock = (): Clock => useContext(LotClock);
