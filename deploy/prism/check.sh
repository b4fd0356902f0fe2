#!/usr/bin/env bash
# Checks the service against its own OpenAPI document with Stoplight Prism's validation proxy:
# the generated-client suite (client/client.e2e.test.ts: every operation, successes and refusals)
# runs with every call going through `prism proxy <document> <service> --errors`, and fails if
# Prism flags any response. Requests the document itself calls invalid (the refusal cases), which
# Prism with --errors refuses itself, go through a second `prism proxy` without --errors that
# forwards them and reports the answer's faults in `sl-violations`: error answers (400, 401, 413,
# 415, 422) are checked by Prism too (test-support/prism.ts).
#
#   deploy/prism/check.sh            # installs Prism and the Node it needs on first use
#
# Prism 5 needs Node >= 24; the `node` npm package brings one, so this works on Node 20 machines.
set -euo pipefail
cd "$(dirname "$0")/../.."
PRISM_VERSION=5.16.0
NODE_MAJOR=24
tools="${PRISM_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/parking-reservations/prism-$PRISM_VERSION}"
if [ ! -x "$tools/node_modules/.bin/prism" ]; then
  echo "Installing @stoplight/prism-cli@$PRISM_VERSION and node@$NODE_MAJOR into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=warn \
    "@stoplight/prism-cli@$PRISM_VERSION" "node@$NODE_MAJOR"
fi
export PRISM_CLI="$tools/node_modules/@stoplight/prism-cli/dist/index.js"
export PRISM_NODE="$tools/node_modules/node/bin/node"
exec npx vitest run client/client.e2e.test.ts --reporter=verbose
