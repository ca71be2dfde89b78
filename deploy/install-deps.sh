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

source "$(dirname "$0")/apt-install.sh"
apt_install "${need[@]}"
