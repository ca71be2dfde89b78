#!/usr/bin/env bash
# Creates linkwatch's InfluxDB 1.x users, idempotently:
#   admin    all privileges (created first: until an admin exists, InfluxDB does not enforce auth)
#   writer   WRITE on the database only: the collector (it cannot read nor drop anything)
#   grafana  READ on the database only: Grafana's data source (it cannot write)
#   evaluator READ and WRITE on the database: `linkwatch evaluator` (reads reports, writes verdicts)
# Passwords are read from SECRETS_DIR/{influx-admin,influx-writer,influx-grafana,influx-evaluator}; a missing one is generated
# (mode 600). They never appear on a command line (ps) nor in a URL (logs): curl reads them from stdin.
#
# usage: deploy/influxdb-users.sh [-u http://127.0.0.1:8086] [-d linkwatch] [-s /etc/linkwatch/secrets]
#                                 [--writer writer] [--reader grafana] [--writer-reads]
# --writer-reads also grants READ to the collector user: the verdict evaluator (evaluator.enabled, the default) runs in
# the collector and queries the database. Without it, run the collector with `evaluator: { enabled: false }` and
# `linkwatch evaluator` as its own process with `evaluator: { username: evaluator, password_file: … }`.
set -euo pipefail
url=http://127.0.0.1:8086 db=linkwatch secrets=/etc/linkwatch/secrets writer=writer reader=grafana evaluator=evaluator writer_reads=no
while [ $# -gt 0 ]; do
  case "$1" in
    -u) url=$2; shift 2 ;;
    -d) db=$2; shift 2 ;;
    -s) secrets=$2; shift 2 ;;
    --writer) writer=$2; shift 2 ;;
    --reader) reader=$2; shift 2 ;;
    --evaluator) evaluator=$2; shift 2 ;;
    --writer-reads) writer_reads=yes; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for name in "$db" "$writer" "$reader" "$evaluator"; do
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "bad name: $name" >&2; exit 2; }
done

umask 077
mkdir -p "$secrets"
secret() { # secret FILE: prints the password in FILE, creating a random one first if needed
  local f="$secrets/$1"
  [ -s "$f" ] || head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$f"
  chmod 600 "$f"
  local p; p=$(tr -d '\r\n' < "$f")
  [[ "$p" =~ ^[^\'\\]+$ ]] || { echo "$f: a password may not contain ' or \\" >&2; exit 2; }
  printf '%s' "$p"
}
admin_pw=$(secret influx-admin)
writer_pw=$(secret influx-writer)
reader_pw=$(secret influx-grafana)
evaluator_pw=$(secret influx-evaluator)

# q STATEMENT [noauth]: runs one InfluxQL statement, prints the response; fails on an error in it. The statement goes
# through stdin and the credentials through a process-substitution config, so neither shows in `ps`.
q() {
  local body
  if [ "${2:-}" = noauth ]; then
    body=$(printf '%s' "$1" | curl -sS -X POST "$url/query" --data-urlencode q@-)
  else
    body=$(printf '%s' "$1" | curl -sS -X POST "$url/query" -K <(printf 'user = "admin:%s"\n' "$admin_pw") --data-urlencode q@-)
  fi
  if [[ -z "$body" || "$body" == *'"error"'* ]]; then echo "InfluxDB: ${body:-no answer from $url}" >&2; return 1; fi
  printf '%s' "$body"
}

# Until an admin exists InfluxDB enforces nothing (and ignores credentials): create it first.
# ("create admin user first" is the answer to anything else then).
users=$(q "SHOW USERS" 2>/dev/null || true)
if [[ "$users" != *'["admin",true]'* ]]; then
  q "CREATE USER admin WITH PASSWORD '$admin_pw' WITH ALL PRIVILEGES" noauth >/dev/null
  users=$(q "SHOW USERS")
fi
q "CREATE DATABASE \"$db\"" >/dev/null
for pair in "$writer:$writer_pw" "$reader:$reader_pw" "$evaluator:$evaluator_pw"; do
  user=${pair%%:*} pw=${pair#*:}
  if [[ "$users" == *"[\"$user\","* ]]; then q "SET PASSWORD FOR \"$user\" = '$pw'" >/dev/null
  else q "CREATE USER \"$user\" WITH PASSWORD '$pw'" >/dev/null; fi
  q "REVOKE ALL PRIVILEGES ON \"$db\" FROM \"$user\"" >/dev/null
done
# InfluxDB 1.x keeps one privilege per user and database and a GRANT replaces it: READ granted after WRITE would
# leave the collector unable to write. So a collector that also reads gets ALL (READ and WRITE) in one grant.
if [ "$writer_reads" = yes ]; then q "GRANT ALL ON \"$db\" TO \"$writer\"" >/dev/null
else q "GRANT WRITE ON \"$db\" TO \"$writer\"" >/dev/null; fi
q "GRANT READ ON \"$db\" TO \"$reader\"" >/dev/null
q "GRANT ALL ON \"$db\" TO \"$evaluator\"" >/dev/null
writer_privilege=WRITE; [ "$writer_reads" = yes ] && writer_privilege=READ+WRITE
echo "InfluxDB users ready on $url: admin, $writer ($writer_privilege $db), $reader (READ $db), $evaluator (READ+WRITE $db); passwords in $secrets"
