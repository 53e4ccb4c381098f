#!/bin/sh
# The access log (src/proxy/access-log.ts) writes pino's line format itself. This runs its
# byte-for-byte test against the newest pino 10.x that npm resolves (not only the one the
# lock file pins), installed into a temporary folder. A new pino minor that changes its
# output fails here before a lock-file update brings it in.
#
# Needs the npm registry. When it cannot be reached, this says SKIPPED and why, and exits
# 0; set LPX_REQUIRE_REGISTRY=1 to make that a failure (exit 2) instead.
set -eu
cd "$(dirname "$0")/.."

skip() {
  echo "check-pino-latest: SKIPPED: $1" >&2
  if [ "${LPX_REQUIRE_REGISTRY:-0}" = 1 ]; then exit 2; fi
  exit 0
}

installed=$(node -p "require('pino/package.json').version")
latest=$(npm view 'pino@10' version --json 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const v = JSON.parse(s || "null"); const all = Array.isArray(v) ? v : v ? [v] : [];
    if (all.length) console.log(all[all.length - 1]);
  });') || latest=""
[ -n "$latest" ] || skip "the npm registry did not answer 'npm view pino@10 version' (offline?)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/lpx-pino-latest.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo '{ "name": "lpx-pino-latest", "private": true }' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --no-save "pino@$latest" >/dev/null 2>&1 \
  || skip "npm could not install pino@$latest from the registry"

echo "check-pino-latest: installed pino $installed; comparing against the newest 10.x, pino $latest" >&2
LPX_PINO_DIR="$dir" LPX_PINO_VERSION="$latest" npx vitest run -c test/pino-latest.vitest.config.ts
