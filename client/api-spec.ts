import type { RunningService } from "../app/server.js";
import type { ServiceOptions } from "../app/services.js";
import { customerHeaders, operatorHeaders, TEST_OPERATOR } from "../test-support/auth.js";
import { startTestService, tempDataDir } from "../test-support/service.js";
import { type ApiClient, apiClient } from "./index.js";

/**
 * An API spec over the typed client, as the decider's given/when/then is over the decider: the
 * service started in this process on embedded stores in a fresh DATA_DIR, and a client generated
 * from its OpenAPI document (client/api.d.ts) per caller: the operator at the desk, any customer
 * by id, someone who has not signed in. Every path, body and answer is typed, and the e2e setup
 * checks every answer against the document (test-support/contract-setup.ts).
 *
 *   const api = await startApiSpec();
 *   // given
 *   await api.operator.POST("/parking-lots", { body: { parkingLotId: "p1", name: "P1", capacity: 1 } });
 *   // when
 *   const booked = await (await api.customer("CUST1")).POST("/parking-lots/{parkingLotId}/reservations", …);
 *   // then
 *   expect(answered(booked, 201).status).toBe("RESERVED");
 *   await api.stop();
 *
 * Kept out of the build (tsconfig.build.json compiles no client/ file).
 */
export interface ApiSpec {
  readonly service: RunningService;
  readonly url: string;
  /** Its DATA_DIR, to mint other tokens (test-support/auth.ts). */
  readonly dataDir: string;
  /** The test operator (TEST_OPERATOR). */
  readonly operator: ApiClient;
  /** A caller without a token. */
  readonly anonymous: ApiClient;
  /** A customer, signed in as `customerId` (the token's subject). */
  customer(customerId: string): Promise<ApiClient>;
  /** An operator other than the test one. */
  operatorNamed(sub: string): Promise<ApiClient>;
  stop(): Promise<void>;
}

export async function startApiSpec(
  env: Record<string, string> = {},
  options: ServiceOptions = {},
): Promise<ApiSpec> {
  const data = tempDataDir("parking-api-spec-");
  const service = await startTestService(data.dir, env, options);
  const client = (headers: Record<string, string> = {}) => apiClient({ baseUrl: service.url, headers });
  return {
    service,
    url: service.url,
    dataDir: data.dir,
    operator: client(await operatorHeaders(data.dir, TEST_OPERATOR)),
    anonymous: client(),
    customer: async (customerId) => client(await customerHeaders(data.dir, customerId)),
    operatorNamed: async (sub) => client(await operatorHeaders(data.dir, sub)),
    stop: async () => {
      await service.shutdown("test done");
      data.remove();
    },
  };
}

/** What an openapi-fetch call resolves to: the answer, its typed body or its problem. */
interface Answer<Data, Problem> {
  readonly data?: Data;
  readonly error?: Problem;
  readonly response: Response;
}

/** The typed body of an answer that must have this status (else the test fails, naming the answer). */
export function answered<Data, Problem>(answer: Answer<Data, Problem>, status: number): Data {
  if (answer.response.status !== status || answer.data === undefined) {
    throw new Error(
      `expected ${status}, got ${answer.response.status}: ${JSON.stringify(answer.error ?? answer.data)}`,
    );
  }
  return answer.data;
}

/** The problem of an answer that must be a problem of this type (`/problems/{name}`) and status. */
export function refused<Data, Problem extends { readonly type?: string }>(
  answer: Answer<Data, Problem>,
  status: number,
  name: string,
): Problem {
  const problem = answer.error;
  if (answer.response.status !== status || problem?.type !== `/problems/${name}`) {
    throw new Error(
      `expected ${status} /problems/${name}, got ${answer.response.status}: ${JSON.stringify(problem ?? answer.data)}`,
    );
  }
  if (!answer.response.headers.get("content-type")?.includes("application/problem+json")) {
    throw new Error(
      `a problem must be application/problem+json, not ${answer.response.headers.get("content-type")}`,
    );
  }
  return problem;
}
