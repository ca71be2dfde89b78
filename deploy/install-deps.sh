#!/usr/bin/env bash
# Installs the servers linkwatch runs against, from Debian's packages, when they are missing:
# mosquitto (MQTT broker), influxdb (InfluxDB 1.x), iputils-ping (ICMP probes), iproute2 + iptables (network tests),
# poppler-utils (pdftotext/pdftoppm: the SLA PDF tests read the statement back).
# Safe to run again: it installs only what is absent. The packaged services are not started by this script.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ] || [ -x "/sbin/$1" ]; }
have mosquitto || need+=(mosquitto)
have influxd || need+=(influxdb)
have ping || need+=(iputils-ping)
have ip || need+=(iproute2)
have iptables || need+=(iptables)
have pdftotext || need+=(poppler-utils)

[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "linkwatch: missing ${need[*]}; install them with your system's package manager" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "linkwatch: installing ${need[*]} from the distribution's packages" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
