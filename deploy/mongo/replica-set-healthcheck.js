// Health check of the `mongo` service in docker-compose.yml, run by mongosh inside the container:
//
//   mongosh --quiet --norc /etc/parking/mongo/replica-set-healthcheck.js
//
// The read models use transactions, which need a replica set. The first run initiates the
// single-member replica set (mongod runs with --replSet rs0); every run then exits 0 only once
// this member is a writable primary, so services that depend on `mongo: service_healthy` start
// against a working primary. Running it again is harmless.
//
// The member is announced as mongo:27017, the service name: that is the address the app
// containers reach (MONGODB_URL=mongodb://mongo:27017/?replicaSet=rs0). From the host, connect
// with mongodb://localhost:27017/?directConnection=true instead.

const REPLICA_SET = "rs0";
const MEMBER_HOST = "mongo:27017";

try {
  rs.status();
} catch (error) {
  if (error.code !== 94 && error.codeName !== "NotYetInitialized") throw error;
  rs.initiate({ _id: REPLICA_SET, members: [{ _id: 0, host: MEMBER_HOST }] });
  print(`initiated replica set ${REPLICA_SET} with member ${MEMBER_HOST}`);
}

const hello = db.hello();
if (hello.setName !== REPLICA_SET || !hello.isWritablePrimary) {
  print(`waiting for ${MEMBER_HOST} to become primary of ${REPLICA_SET}`);
  quit(1);
}
