/**
 * The most bytes a request's start line and headers may take together; Node answers a larger one
 * itself with a bare 431 Request Header Fields Too Large and closes the connection.
 */
export const MAX_HEADER_BYTES = 16 * 1024;
