#!/usr/bin/env bash
# Prepares Debian's own Node.js 18 (the `nodejs` package of Debian 12) beside the build's Node,
# so the CLI-level tests can also run on the Node that stock Debian, Ubuntu 24.04 and
# Proxmox VE 8 hosts have (test/bin/debian-node.test.ts). Needs root and apt; idempotent.
#   - libnode108 and its dependencies are installed with apt (libraries only; the machine's
#     own `node` is untouched);
#   - the `nodejs` package itself is unpacked into $dir (it would replace the machine's node).
# Prints nothing when it is already there; exits 0 either way (a test says what is missing).
set -uo pipefail
dir="${FAIL2GIT_DEBIAN_NODE_DIR:-/var/cache/fail2git-test/debian-node}"
[ -x "$dir/node" ] && "$dir/node" --version >/dev/null 2>&1 && exit 0
[ "$(id -u)" = 0 ] || { echo "test: Debian's nodejs 18 not prepared (run as root to prepare it)" >&2; exit 0; }
command -v apt-get >/dev/null || { echo "test: no apt-get: Debian's nodejs 18 not prepared" >&2; exit 0; }
# The newest nodejs version that comes from a Debian archive (not a third-party repository).
version="$(apt-cache madison nodejs 2>/dev/null | awk -F'|' '$3 ~ /debian\.org|debian-security/ { gsub(/ /, "", $2); print $2; exit }')"
if [ -z "$version" ]; then
  apt-get update -qq >/dev/null 2>&1
  version="$(apt-cache madison nodejs 2>/dev/null | awk -F'|' '$3 ~ /debian\.org|debian-security/ { gsub(/ /, "", $2); print $2; exit }')"
fi
[ -n "$version" ] || { echo "test: no Debian nodejs package in the apt sources" >&2; exit 0; }
echo "test: preparing Debian's nodejs $version in $dir"
export DEBIAN_FRONTEND=noninteractive
# libnode108's dependencies that are plain libraries or data under /usr/share/nodejs (its
# "externalized builtins"): installed with apt. libnode108 itself is unpacked with nodejs, as
# apt will not install it beside a third-party nodejs on some machines.
deps=(libc-ares2 libuv1 libicu72 libnghttp2-14 libbrotli1 node-acorn node-cjs-module-lexer node-undici)
apt-get install -y -qq --no-install-recommends "${deps[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq --no-install-recommends "${deps[@]}" >/dev/null 2>&1; } \
  || { echo "test: could not install ${deps[*]}" >&2; exit 0; }
tmp="$(mktemp -d)"
chmod 0777 "$tmp"
(cd "$tmp" && apt-get download "nodejs=$version" "libnode108=$version" >/dev/null 2>&1) \
  || { echo "test: could not download nodejs and libnode108 $version" >&2; rm -rf "$tmp"; exit 0; }
mkdir -p "$dir"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
rm -rf "$tmp"
# The binary finds its libnode in $dir through this wrapper's library path.
cat > "$dir/node" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH="$dir/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$dir/usr/bin/node" "\$@"
WRAP
chmod 0755 "$dir/node"
"$dir/node" --version >/dev/null || echo "test: Debian's nodejs in $dir does not start" >&2
exit 0
