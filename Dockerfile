# Parking reservations: one image for every role (ROLE=all | command-api | projector | query-api).
#
#   docker build -t parking-reservations .
#   docker run -p 8080:8080 -v parking-data:/app/data parking-reservations          # embedded stores
#   docker compose up --build                                                       # EventStoreDB + MongoDB
#
# Stages: deps (toolchain + every dependency; better-sqlite3 compiles here), build (tsc -> dist/),
# prod-deps (the same node_modules pruned to production), runtime (dist/ + production node_modules).

# A Node.js LTS line: 24 (active LTS). CI runs the whole suite on 24 and 22 (.ci/run), besides the
# unit and integration tiers on the Node 20 of the development machines. On 24, better-sqlite3 12
# aborts the process when the collector finalizes a statement ("Assertion failed: (env) !=
# nullptr", nodejs/node#65446; reproduced on 24.21.0 on 2026-11-25): npm ci here also installs
# better-sqlite3 13 (the optional `better-sqlite3-13`, Node-API, prebuilt in its package), which
# the embedded stores load where present (platform/sqlite.ts).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
# better-sqlite3 is a native addon: node-gyp needs python3, make and a C++ compiler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

FROM deps AS prod-deps
# Pruning keeps the better-sqlite3 addon compiled in the deps stage instead of compiling it again.
RUN npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data
WORKDIR /app
# Code and dependencies stay owned by root: the app can read them, not change them.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The embedded stores write under DATA_DIR; mount a volume there to keep the data.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
# The app handles SIGTERM: it stops being ready, finishes in-flight requests, saves checkpoints,
# closes its stores and exits 0 within SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
# No curl in slim images: Node's own fetch probes liveness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/app/main.js"]
