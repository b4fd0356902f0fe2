import type { ClientRateLimitInfo, Options, Store } from "express-rate-limit";
import { type Collection, MongoClient } from "mongodb";

interface Counter {
  _id: string;
  hits: number;
  resetAt: Date;
}

/**
 * express-rate-limit counters in MongoDB, so that every API replica counts against one quota
 * (with in-memory counters a client could spread a flood over N replicas and get N times the
 * limit). One document per client key and window: a single atomic findOneAndUpdate with an
 * update pipeline starts a new window when the old one has passed, or adds one hit; a TTL index
 * drops counters after their window. Why MongoDB and not Redis: it is already the deployment's
 * shared, replicated store; a limit check costs one round trip to it, as a Redis one would.
 */
export class MongoRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;

  private constructor(
    private readonly client: MongoClient,
    private readonly counters: Collection<Counter>,
    readonly prefix: string,
  ) {}

  static async connect(options: {
    readonly url: string;
    readonly database: string;
    readonly prefix: string;
  }): Promise<MongoRateLimitStore> {
    const client = new MongoClient(options.url, { appName: "parking-reservations-rate-limits" });
    await client.connect();
    const counters = client.db(options.database).collection<Counter>("rate_limits");
    await counters.createIndex({ resetAt: 1 }, { expireAfterSeconds: 0, name: "expire_after_window" });
    return new MongoRateLimitStore(client, counters, options.prefix);
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const counter = await this.counters.findOne({ _id: this.prefix + key });
    if (!counter || counter.resetAt.getTime() <= Date.now()) return undefined;
    return { totalHits: counter.hits, resetTime: counter.resetAt };
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = new Date();
    const expired = { $or: [{ $lte: ["$resetAt", now] }, { $not: ["$resetAt"] }] };
    const counter = await this.counters.findOneAndUpdate(
      { _id: this.prefix + key },
      [
        {
          $set: {
            hits: { $cond: [expired, 1, { $add: ["$hits", 1] }] },
            resetAt: { $cond: [expired, new Date(now.getTime() + this.windowMs), "$resetAt"] },
          },
        },
      ],
      { upsert: true, returnDocument: "after" },
    );
    if (!counter) throw new Error("rate-limit counter update returned nothing");
    return { totalHits: counter.hits, resetTime: counter.resetAt };
  }

  async decrement(key: string): Promise<void> {
    await this.counters.updateOne(
      { _id: this.prefix + key, resetAt: { $gt: new Date() }, hits: { $gt: 0 } },
      { $inc: { hits: -1 } },
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.counters.deleteOne({ _id: this.prefix + key });
  }

  async shutdown(): Promise<void> {
    await this.client.close();
  }
}
