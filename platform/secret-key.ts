import { createSecretKey, type KeyObject } from "node:crypto";

/**
 * Key bytes as a KeyObject, the form every key of this service is handed to `createCipheriv`,
 * `createDecipheriv` and `createHmac` in. Since Node 24's hardened key slots (nodejs/node#62924,
 * #63111), those functions ask whether a key given as bytes is a KeyObject, then a CryptoKey, each by
 * a brand check that throws and is caught when it is not: two exceptions per call, 11-13% of each
 * thread's CPU on the reserve load (issue 50, BENCHMARKS.md). A KeyObject passes the first check at
 * once; making one from bytes checks nothing (`createSecretKey` takes bytes only). Node 20 and 22
 * check with a property read either way. The KeyObject holds its own copy: `bytes` are wiped.
 */
export function secretKey(bytes: Buffer): KeyObject {
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}
