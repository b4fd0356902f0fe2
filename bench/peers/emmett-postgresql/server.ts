import { DeciderCommandHandler } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { servePeer } from "../emmett/app.js";
import { lotDecider } from "../emmett/decider.js";

/**
 * The Emmett peer on PostgreSQL (issue 70): the SQLite peer's endpoints and decider
 * (../emmett/app.ts, ../emmett/decider.ts) on Emmett's DeciderCommandHandler over its PostgreSQL
 * event store (`@event-driven-io/emmett-postgresql`, as its docs set it up: one connection string,
 * the schema created on first use), one stream per lot, optimistic concurrency on the stream
 * version, retried on a conflict. Unlike the SQLite store, this one takes concurrent commands, so
 * they are not queued. Its requests are built on the app's prototypes as the service's are.
 * EMMETT_POSTGRES_URL: the database (its own, not the service's).
 */
const url = process.env.EMMETT_POSTGRES_URL;
if (!url) throw new Error("EMMETT_POSTGRES_URL is required");
const eventStore = getPostgreSQLEventStore(url, { schema: { autoMigration: "CreateOrUpdate" } });
const handle = DeciderCommandHandler(lotDecider);

servePeer("emmett peer (PostgreSQL)", (lotId, command) => handle(eventStore, lotId, command), true);
