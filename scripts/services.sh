#!/usr/bin/env bash
# Local Redis and Elasticsearch for development, tests and the demo. Idempotent.
#   scripts/services.sh up        start what is not already answering (prints the URLs)
#   scripts/services.sh down      stop what this script started
#   scripts/services.sh status    say what answers
#   scripts/services.sh up-redis | up-es   start just one of them
#   scripts/services.sh up-secure start a second ES with TLS + basic auth (for the secured-ES test run)
#   scripts/services.sh down-secure
# Redis comes from Debian's redis-server (installed with apt if missing); Elasticsearch is Elastic's own
# integ-test-zip distribution from Maven Central, run as an unprivileged user because it refuses root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${SLACK_AUDIT_SERVICES_DIR:-$ROOT/.services}"
ES_VERSION="${SLACK_AUDIT_ES_VERSION:-8.19.21}"
ES_USER="${SLACK_AUDIT_ES_USER:-slackaudit-es}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
ELASTICSEARCH_URL="${ELASTICSEARCH_URL:-http://127.0.0.1:9200}"
SECURE_PORT="${SLACK_AUDIT_SECURE_ES_PORT:-9243}"
SECURE_PASSWORD="${SLACK_AUDIT_SECURE_ES_PASSWORD:-slack-audit-test-pw}"

log() { printf '[services] %s\n' "$*" >&2; }

hostport() { # url -> host port
  local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"
  local host="${rest%%:*}" port="${rest##*:}"
  [ "$host" = "$rest" ] && port="$2"
  echo "$host" "$port"
}

redis_up() { read -r h p < <(hostport "$REDIS_URL" 6379); redis-cli -h "$h" -p "$p" ping 2>/dev/null | grep -q PONG; }
es_curl_auth() {
  local a=()
  [ -n "${ELASTICSEARCH_USERNAME:-}" ] && a+=(-u "$ELASTICSEARCH_USERNAME:${ELASTICSEARCH_PASSWORD:-}")
  [ -n "${ELASTICSEARCH_API_KEY:-}" ] && a+=(-H "Authorization: ApiKey $ELASTICSEARCH_API_KEY")
  [ -n "${ELASTICSEARCH_CA_FILE:-}" ] && a+=(--cacert "$ELASTICSEARCH_CA_FILE")
  [ ${#a[@]} -eq 0 ] || printf '%s\n' "${a[@]}"
}
es_up() {
  local auth=(); mapfile -t auth < <(es_curl_auth)
  curl -fsS -m 3 "${auth[@]}" "$ELASTICSEARCH_URL/_cluster/health" >/dev/null 2>&1
}

need_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then log "missing packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"; exit 1; fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq >"$SERVICES_DIR/apt.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$SERVICES_DIR/apt.log" 2>&1
}

start_redis() {
  if redis_up; then log "redis already answers at $REDIS_URL"; return; fi
  command -v redis-server >/dev/null || need_apt redis-server
  read -r h p < <(hostport "$REDIS_URL" 6379)
  mkdir -p "$SERVICES_DIR/redis"
  # AOF on so queued work survives a restart; noeviction because BullMQ must never lose keys.
  redis-server --bind 127.0.0.1 --port "$p" --dir "$SERVICES_DIR/redis" --appendonly yes --appendfsync everysec \
    --maxmemory-policy noeviction --daemonize yes --pidfile "$SERVICES_DIR/redis/redis.pid" \
    --logfile "$SERVICES_DIR/redis/redis.log" --save ""
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { log "redis did not start; see $SERVICES_DIR/redis/redis.log"; exit 1; }
  touch "$SERVICES_DIR/redis/started-by-us"
  log "redis started"
}

es_home_base() {
  # The ES user must be able to reach its files; a clone under /root is not traversable by others.
  if [ "$(id -u)" -eq 0 ] && ! runuser -u "$ES_USER" -- test -x "$SERVICES_DIR" 2>/dev/null; then
    echo "/var/tmp/slack-audit-services/$(echo "$SERVICES_DIR" | md5sum | cut -c1-8)"
  else
    echo "$SERVICES_DIR"
  fi
}

install_es() {
  local base="$1" home="$1/elasticsearch-$ES_VERSION"
  [ -x "$home/bin/elasticsearch" ] && { echo "$home"; return; }
  command -v java >/dev/null || need_apt openjdk-17-jdk-headless
  command -v mvn >/dev/null || need_apt maven
  command -v unzip >/dev/null || need_apt unzip
  log "fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip with Maven"
  mkdir -p "$SERVICES_DIR/download" "$base"
  mvn -q -B dependency:copy -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
    -DoutputDirectory="$SERVICES_DIR/download" -Dmdep.useBaseVersion=true >"$SERVICES_DIR/maven.log" 2>&1 \
    || { log "maven download failed; see $SERVICES_DIR/maven.log"; exit 1; }
  unzip -q -o "$SERVICES_DIR/download/elasticsearch-$ES_VERSION.zip" -d "$base"
  echo "$home"
}

ensure_es_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
}

java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

run_es() { # home datadir port extra-args...
  local home="$1" data="$2" port="$3"; shift 3
  mkdir -p "$data/data" "$data/logs"
  local cmd=("$home/bin/elasticsearch" -d -p "$data/es.pid" -Ediscovery.type=single-node -Enetwork.host=127.0.0.1
    -Ehttp.port="$port" -Etransport.port=$((port + 100)) -Epath.data="$data/data" -Epath.logs="$data/logs"
    -Ecluster.routing.allocation.disk.threshold_enabled=false -Eaction.destructive_requires_name=false "$@")
  local envs=(ES_JAVA_HOME="$(java_home)" ES_JAVA_OPTS="${SLACK_AUDIT_ES_HEAP:--Xms1g -Xmx1g}")
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$ES_USER" "$home" "$data"
    runuser -u "$ES_USER" -- env "${envs[@]}" "${cmd[@]}" >"$data/logs/stdout.log" 2>&1
  else
    env "${envs[@]}" "${cmd[@]}" >"$data/logs/stdout.log" 2>&1
  fi
}

start_es() {
  if es_up; then log "elasticsearch already answers at $ELASTICSEARCH_URL"; return; fi
  ensure_es_user
  local base home data port
  base="$(es_home_base)"; home="$(install_es "$base")"; data="$base/es-data"
  read -r _ port < <(hostport "$ELASTICSEARCH_URL" 9200)
  log "starting elasticsearch $ES_VERSION on 127.0.0.1:$port (logs: $data/logs)"
  run_es "$home" "$data" "$port" -Expack.security.enabled=false
  for _ in $(seq 1 180); do es_up && break; sleep 0.5; done
  es_up || { log "elasticsearch did not start; see $data/logs"; exit 1; }
  local auth=(); mapfile -t auth < <(es_curl_auth)
  curl -fsS -m 60 "${auth[@]}" "$ELASTICSEARCH_URL/_cluster/health?wait_for_status=yellow&timeout=60s" >/dev/null
  echo "$data/es.pid" >"$SERVICES_DIR/es.pidfile"
  log "elasticsearch started"
}

start_secure_es() {
  ensure_es_user
  local base home data certs url="https://127.0.0.1:$SECURE_PORT"
  base="$(es_home_base)"; home="$(install_es "$base")"; data="$base/es-secure"; certs="$home/config/certs"
  if curl -fsS -m 3 --cacert "$certs/ca/ca.crt" -u "elastic:$SECURE_PASSWORD" "$url/_cluster/health" >/dev/null 2>&1; then
    log "secured elasticsearch already answers at $url"
  else
    if [ ! -f "$certs/http.p12" ]; then
      mkdir -p "$certs"
      ES_JAVA_HOME="$(java_home)" "$home/bin/elasticsearch-certutil" ca --silent --pem --out "$certs/ca.zip" >/dev/null
      (cd "$certs" && unzip -q -o ca.zip)
      ES_JAVA_HOME="$(java_home)" "$home/bin/elasticsearch-certutil" cert --silent --pem --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key" \
        --ip 127.0.0.1 --dns localhost --out "$certs/http.zip" >/dev/null
      (cd "$certs" && unzip -q -o http.zip && touch http.p12)
    fi
    rm -f "$home/config/elasticsearch.keystore"
    ES_JAVA_HOME="$(java_home)" "$home/bin/elasticsearch-keystore" create >/dev/null
    printf '%s' "$SECURE_PASSWORD" | ES_JAVA_HOME="$(java_home)" "$home/bin/elasticsearch-keystore" add -x bootstrap.password >/dev/null
    log "starting secured elasticsearch on $url"
    run_es "$home" "$data" "$SECURE_PORT" -Expack.security.enabled=true -Expack.security.http.ssl.enabled=true \
      -Expack.security.http.ssl.key=certs/instance/instance.key -Expack.security.http.ssl.certificate=certs/instance/instance.crt \
      -Expack.security.http.ssl.certificate_authorities=certs/ca/ca.crt -Expack.security.transport.ssl.enabled=false
    for _ in $(seq 1 180); do
      curl -fsS -m 3 --cacert "$certs/ca/ca.crt" -u "elastic:$SECURE_PASSWORD" "$url/_cluster/health" >/dev/null 2>&1 && break; sleep 0.5
    done
    echo "$data/es.pid" >"$SERVICES_DIR/es-secure.pidfile"
  fi
  cp "$certs/ca/ca.crt" "$SERVICES_DIR/es-secure-ca.crt"
  echo "ELASTICSEARCH_URL=$url"
  echo "ELASTICSEARCH_USERNAME=elastic"
  echo "ELASTICSEARCH_PASSWORD=$SECURE_PASSWORD"
  echo "ELASTICSEARCH_CA_FILE=$SERVICES_DIR/es-secure-ca.crt"
}

stop_pidfile() { # file-with-pid-path name
  [ -f "$1" ] || return 0
  local pidfile pid; pidfile="$(cat "$1")"
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "$2 stopped"
  fi
  rm -f "$1"
}

cmd="${1:-up}"
mkdir -p "$SERVICES_DIR"
case "$cmd" in
  up)
    start_redis; start_es
    echo "REDIS_URL=$REDIS_URL"
    echo "ELASTICSEARCH_URL=$ELASTICSEARCH_URL"
    ;;
  up-redis) start_redis ;;
  up-es) start_es ;;
  up-secure) start_secure_es ;;
  down-secure) stop_pidfile "$SERVICES_DIR/es-secure.pidfile" "secured elasticsearch" ;;
  down)
    stop_pidfile "$SERVICES_DIR/es-secure.pidfile" "secured elasticsearch"
    stop_pidfile "$SERVICES_DIR/es.pidfile" elasticsearch
    if [ -f "$SERVICES_DIR/redis/started-by-us" ] && [ -f "$SERVICES_DIR/redis/redis.pid" ]; then
      kill "$(cat "$SERVICES_DIR/redis/redis.pid")" 2>/dev/null || true
      rm -f "$SERVICES_DIR/redis/started-by-us"; log "redis stopped"
    fi
    ;;
  status)
    redis_up && echo "redis: up ($REDIS_URL)" || echo "redis: down ($REDIS_URL)"
    es_up && echo "elasticsearch: up ($ELASTICSEARCH_URL)" || echo "elasticsearch: down ($ELASTICSEARCH_URL)"
    ;;
  *) echo "usage: $0 up|up-redis|up-es|down|status|up-secure|down-secure" >&2; exit 2 ;;
esac
