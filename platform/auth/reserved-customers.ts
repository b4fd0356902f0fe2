/**
 * The customer ids the service books itself (issue 49: a lot's drive-up stays at its gates,
 * `drive-up:{lot}`): no token may sign a customer in as one (middleware.ts), or it would read
 * those stays' plates.
 */
export const RESERVED_CUSTOMER_PREFIX = "drive-up:";
