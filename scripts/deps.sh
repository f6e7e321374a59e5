#!/usr/bin/env bash
# Installs the system packages that the tests need (idempotent). The embedded default product needs none of them:
# libolm3 is loaded only by the crypto interop tests, as the reference the managed Olm is checked against;
# postgresql and nats-server are started by the scale-out tests themselves, on loopback, in temp folders;
# chromium is the headless browser that the browser tests (authenticator, sign-in, OIDC code flow) drive with Playwright — never a downloaded one;
# unzip lets scripts/pack-check.sh read the packages' nuspec files.
set -euo pipefail

need=()
for pkg in libolm3 postgresql nats-server chromium unzip; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} — run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
