#!/usr/bin/env bash
# Headless browser for the portal and desk checks (scripts/portal_screenshots.mjs,
# scripts/desk_screenshots.mjs): Debian's chromium and the npm package playwright-core (which
# drives the system Chromium and downloads no browser) in .browser/node_modules.
# Idempotent. Then: NODE_PATH=.browser/node_modules node scripts/portal_screenshots.mjs ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v chromium >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	_sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
	DEBIAN_FRONTEND=noninteractive _sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium nodejs npm >/dev/null
fi
if [ ! -d "$root/.browser/node_modules/playwright-core" ]; then
	npm install --silent --no-audit --no-fund --prefix "$root/.browser" playwright-core@1
fi
echo "chromium: $(command -v chromium); playwright-core: $root/.browser/node_modules/playwright-core"
