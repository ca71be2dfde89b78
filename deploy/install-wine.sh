#!/usr/bin/env bash
# Installs Wine from Debian's packages when it is missing: only the Windows tests need it (they run the Windows
# executable, dist/exe/linkwatch-agent-win-x64.exe, under Wine). Kept apart from install-deps.sh so that the demo and
# the rest of CI do not pull in Wine. Safe to run again: it installs only what is absent.
set -euo pipefail

command -v wine >/dev/null 2>&1 && command -v wineboot >/dev/null 2>&1 && command -v wineserver >/dev/null 2>&1 && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "linkwatch: wine is missing; install it with your system's package manager" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "linkwatch: installing wine from the distribution's packages" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# wine64 runs the x64 executable; no recommends (no fonts, no Mono or Gecko: the agent needs neither).
"${sudo[@]}" apt-get install -y -qq --no-install-recommends wine wine64 >/dev/null
