# Sourced by install-deps.sh and install-wine.sh: installs Debian packages, as root or through sudo.
# apt_install PACKAGE... : exits 1 naming them where there is no apt-get.
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "linkwatch: missing $*; install them with your system's package manager" >&2
    exit 1
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "linkwatch: installing $* from the distribution's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # No recommends: only what linkwatch runs (for wine: no fonts, no Mono or Gecko; the agent needs neither).
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
