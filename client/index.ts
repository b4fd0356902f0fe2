import createClient, { type ClientOptions } from "openapi-fetch";
import type { paths } from "./api.js";

/**
 * A typed client of the service, generated from its OpenAPI document: every path, parameter,
 * body and response is typed by client/api.d.ts (openapi-typescript), calls go through
 * openapi-fetch. `apiClient({ baseUrl: "http://localhost:8080" })`. The control-center page calls
 * the service through the same types (web/src/api.ts).
 */
export const apiClient = (options: ClientOptions = {}) => createClient<paths>(options);
export type ApiClient = ReturnType<typeof apiClient>;
export type { components, operations, paths } from "./api.js";
