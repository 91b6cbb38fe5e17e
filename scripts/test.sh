#!/usr/bin/env bash
# The whole test suite, as the README's second quick-start command runs it (`npm test`).
# Installs what the real-part tests need when missing: Debian packages (as root) and node
# modules; builds the JS the CLI tests execute; then runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v git >/dev/null || need_pkgs+=(git)
command -v ipset >/dev/null || need_pkgs+=(ipset)
command -v nft >/dev/null || need_pkgs+=(nftables)
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v iptables >/dev/null || need_pkgs+=(iptables)
command -v fail2ban-server >/dev/null || need_pkgs+=(fail2ban)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v ssh-keygen >/dev/null || need_pkgs+=(openssh-client)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
command -v dpkg-deb >/dev/null || need_pkgs+=(dpkg)
command -v lintian >/dev/null || need_pkgs+=(lintian)
command -v zsh >/dev/null || need_pkgs+=(zsh)
command -v man >/dev/null || need_pkgs+=(man-db)
command -v promtool >/dev/null || need_pkgs+=(prometheus)
command -v crowdsec-firewall-bouncer >/dev/null || need_pkgs+=(crowdsec-firewall-bouncer)
command -v chromium >/dev/null || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing Debian packages: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "test: missing ${need_pkgs[*]} (run as root to install them); tests needing them will say so" >&2
  fi
fi

# Debian 12's own Node.js 18, beside the build's Node: the CLI-level tests also run the
# shipped bundle on it (test/bin/debian-node.test.ts).
bash scripts/debian-node.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
npx tsc -p tsconfig.test.json
report="$(mktemp -t fail2git-vitest-XXXXXX.json)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
# One plain closing line that any CI reads: "Tests: N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || true
exit "$status"
