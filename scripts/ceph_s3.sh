#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with a RADOS Gateway (S3) on 127.0.0.1.
#
# Used by the test suite, the benchmarks and `make run-s3` so that S3 behaviour
# is checked against a real object store, not a fake.
#
#   scripts/ceph_s3.sh install   apt packages (ceph-mon ceph-osd radosgw ceph-common)
#   scripts/ceph_s3.sh init      create a fresh cluster in $CEPH_S3_DIR (wipes it)
#   scripts/ceph_s3.sh start     start mon, osd and radosgw; wait until S3 answers
#   scripts/ceph_s3.sh stop      stop the daemons (by PID)
#   scripts/ceph_s3.sh up        init if needed, then start
#   scripts/ceph_s3.sh env       print the S3 settings to export
#   scripts/ceph_s3.sh status    exit 0 if the gateway answers
#
# Environment: CEPH_S3_DIR (data dir), CEPH_S3_PORT (S3 port, default 7480),
# CEPH_MON_PORT (default 6789), CEPH_S3_ACCESS_KEY / CEPH_S3_SECRET_KEY,
# CEPH_S3_TLS_PORT (read by init) to serve HTTPS on that port as well, with a
# self-signed certificate for 127.0.0.1 ($CEPH_S3_DIR/tls/cert.pem: the CA bundle
# clients must trust).
set -euo pipefail

DIR=${CEPH_S3_DIR:-$(pwd)/.local/ceph}
PORT=${CEPH_S3_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}
ACCESS_KEY=${CEPH_S3_ACCESS_KEY:-shoptestaccesskey}
SECRET_KEY=${CEPH_S3_SECRET_KEY:-shoptestsecretkey0000000000000000000000}
CONF=$DIR/ceph.conf
TLS_PORT=${CEPH_S3_TLS_PORT:-}
CERT=$DIR/tls/cert.pem

log() { printf 'ceph_s3: %s\n' "$*" >&2; }

install_packages() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null \
     && command -v radosgw-admin >/dev/null && command -v curl >/dev/null \
     && command -v openssl >/dev/null; then
    return 0
  fi
  log "installing Ceph packages"
  "$(dirname "$0")/apt_install.sh" ceph-mon ceph-osd radosgw ceph-common curl openssl
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

frontend() {
  local frontend="beast endpoint=127.0.0.1:$PORT"
  if [ -n "$TLS_PORT" ]; then
    frontend+=" ssl_endpoint=127.0.0.1:$TLS_PORT ssl_certificate=$CERT"
    frontend+=" ssl_private_key=$DIR/tls/key.pem"
  fi
  echo "$frontend"
}

make_certificate() {
  mkdir -p "$DIR/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$DIR/tls/key.pem" -out "$CERT" 2>/dev/null
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/mon
osd data = $DIR/osd
osd objectstore = bluestore
# The sparse file must not be called "block": ceph-osd treats that name as a
# symlink to a device and fails with ELOOP.
bluestore block path = $DIR/osd/bluestore.img
bluestore block create = true
bluestore block size = 10737418240
bluestore cache autotune = false
bluestore cache size = 67108864
osd memory target = 268435456
osd max object name len = 460
osd max object namespace len = 64
# Without cephx the OSD's own crush/class updates are refused ("wrong fsid"),
# so the OSD is placed in the crush map by init instead.
osd crush update on start = false
osd class update on start = false

[client.rgw]
rgw frontends = $(frontend)
rgw data = $DIR/rgw
rgw enable usage log = false
CONF
}

init_cluster() {
  stop_daemons || true
  rm -rf "$DIR"
  mkdir -p "$DIR"/{mon,osd,rgw,run,log}
  : >"$DIR/keyring"
  if [ -n "$TLS_PORT" ]; then make_certificate; fi
  local fsid; fsid=$(new_uuid)
  write_conf "$fsid"
  monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$fsid" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >/dev/null
  start_mon
  local osd_uuid; osd_uuid=$(new_uuid)
  local id; id=$(ceph -c "$CONF" osd new "$osd_uuid")
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.log" 2>&1
  ceph -c "$CONF" osd crush add "osd.$id" 1.0 root=default >/dev/null 2>&1
  echo "$id" >"$DIR/osd-id"
  stop_daemons
  log "initialised cluster in $DIR"
}

start_daemon() {  # name, command...
  local name=$1; shift
  nohup "$@" >>"$DIR/log/$name.stdout" 2>&1 &
  echo $! >"$DIR/run/$name.daemon-pid"
}

start_mon() {
  start_daemon mon ceph-mon -c "$CONF" -i a -f
  for _ in $(seq 1 60); do
    if timeout 5 ceph -c "$CONF" --connect-timeout 3 mon stat >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "monitor did not come up; see $DIR/log"; return 1
}

gateway_answers() {
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" || return 1
  if [ -n "$TLS_PORT" ]; then
    curl -s -o /dev/null --max-time 2 --cacert "$CERT" "https://127.0.0.1:$TLS_PORT/"
  fi
}

start_all() {
  [ -f "$CONF" ] || { log "no cluster in $DIR; run init first"; return 1; }
  if gateway_answers; then log "already running on port $PORT"; return 0; fi
  start_mon
  start_daemon osd ceph-osd -c "$CONF" -i "$(cat "$DIR/osd-id")" -f
  start_daemon rgw radosgw -c "$CONF" -n client.rgw -f
  for _ in $(seq 1 240); do
    if gateway_answers; then break; fi
    sleep 0.5
  done
  gateway_answers || { log "gateway did not answer on port $PORT; see $DIR/log"; return 1; }
  if ! radosgw-admin -c "$CONF" user info --uid=shop >/dev/null 2>&1; then
    radosgw-admin -c "$CONF" user create --uid=shop --display-name=shop \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  fi
  log "S3 gateway ready on http://127.0.0.1:$PORT${TLS_PORT:+ and https://127.0.0.1:$TLS_PORT}"
}

stop_daemons() {
  local name pidfile pid
  for name in rgw osd mon; do
    pidfile=$DIR/run/$name.daemon-pid
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

print_env() {
  cat <<ENV
export S3_TEST_ENDPOINT=http://127.0.0.1:$PORT
export S3_TEST_ACCESS_KEY=$ACCESS_KEY
export S3_TEST_SECRET_KEY=$SECRET_KEY
ENV
}

case "${1:-}" in
  install) install_packages ;;
  init) install_packages; init_cluster ;;
  start) start_all ;;
  stop) stop_daemons ;;
  up) install_packages; [ -f "$DIR/osd-id" ] || init_cluster; start_all ;;
  env) print_env ;;
  status) gateway_answers ;;
  *) echo "usage: $0 install|init|start|stop|up|env|status" >&2; exit 2 ;;
esac
