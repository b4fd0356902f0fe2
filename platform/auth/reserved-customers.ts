/**
 * The customer ids the service books itself (issue 49: the drive-up stays at a lot's gates, each
 * its own customer `drive-up:{reservationId}` since issue 66, `drive-up:{lot}` before): no token
 * may sign a customer in as one (middleware.ts), or it would read those stays' plates.
 */
export const RESERVED_CUSTOMER_PREFIX = "drive-up:";
