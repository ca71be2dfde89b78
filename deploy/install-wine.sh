#!/usr/bin/env bash
# Installs Wine from Debian's packages when it is missing: only the Windows tests need it (they run the Windows
# executable, dist/exe/linkwatch-agent-win-x64.exe, under Wine). Kept apart from install-deps.sh so that the demo and
# the rest of CI do not pull in Wine. Safe to run again: it installs only what is absent.
set -euo pipefail

command -v wine >/dev/null 2>&1 && command -v wineboot >/dev/null 2>&1 && command -v wineserver >/dev/null 2>&1 && exit 0

# wine64 runs the x64 executable.
source "$(dirname "$0")/apt-install.sh"
apt_install wine wine64
