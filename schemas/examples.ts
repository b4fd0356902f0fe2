/** The ids the API document's examples use, the same in every operation that names them. */
export const LOT_ID = "gangnam-1";
export const RESERVATION_ID = "0197a7c4-6f2b-7c3e-9a41-5d2e8b1f0c77";
export const CUSTOMER_ID = "CUST1";
