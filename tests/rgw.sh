#!/bin/sh
# rgw.sh start DIR | stop DIR
#
# A throw-away S3 server for the tests: a one-monitor, one-OSD Ceph cluster on
# the memstore object store (no disk) with radosgw in front, on 127.0.0.1 only.
# Recipe and quirks: shared/DESIGN.md ("Real components in tests").
#
# start writes DIR/env (export lines: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION, RC_TEST_BUCKET), DIR/*.pid and DIR/log/.
# A second radosgw on the same cluster (RC_TEST_STS_ENDPOINT in DIR/env) has
# STS on (rgw_sts_key, rgw_s3_auth_use_sts) and the test user may call
# GetSessionToken there, for the real temporary credentials that
# tests/sts_stub.py hands out. It is a separate gateway because STS changes
# how RGW answers a wrong secret (AccessDenied instead of
# SignatureDoesNotMatch), which the first one must keep answering like S3.
# The daemons' sockets and stores live in a short directory under /tmp
# (recorded in DIR/workdir) because unix socket paths are limited to 108 bytes.
# stop kills by the recorded pids only (TERM, then KILL) and may run twice.
# RGW_MEMSTORE_BYTES: the OSD's memstore size (default 2 GiB; benchmarks storing more raise it).
set -u

usage() { echo "usage: $0 start DIR | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
DIR=$2

ACCESS_KEY=R2CACHETESTACCESSKEY1
SECRET_KEY=r2cacheTestSecretKey0123456789abcdefghij
BUCKET=r2cache-test
STS_KEY=r2cachetststskey # 16 characters: encrypts RGW's STS session tokens
BOOT_TIMEOUT=${RGW_BOOT_TIMEOUT:-90}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A pid is alive when it exists and is not a zombie waiting for init to reap it.
alive() {
    st=$(sed -n 's/^.*) \([A-Z]\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Stop the daemons recorded in DIR/*.pid: TERM all, KILL what is left after 2 s (the cluster is throw-away).
stop_pids() {
    pids=""
    for f in "$@"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null)
        rm -f "$f"
        case "$pid" in ''|*[!0-9]*) continue ;; esac
        kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
    done
    i=0
    while [ $i -lt 20 ]; do
        left=""
        for pid in $pids; do alive "$pid" && left="$left $pid"; done
        [ -z "$left" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
    return 0
}

do_stop() {
    [ -d "$DIR" ] || return 0
    stop_pids "$DIR/rgwsts.pid" "$DIR/rgw.pid" "$DIR/osd.pid" "$DIR/mon.pid"
    if [ -f "$DIR/workdir" ]; then
        w=$(cat "$DIR/workdir")
        case "$w" in /tmp/rcrgw.*) rm -rf "$w" ;; esac
        rm -f "$DIR/workdir"
    fi
    rm -f "$DIR/env"
    return 0
}

fail() {
    echo "rgw.sh: $*" >&2
    for f in "$DIR"/log/*.log; do
        [ -f "$f" ] || continue
        echo "---- tail of $f" >&2
        tail -n 30 "$f" >&2
    done
    do_stop
    exit 1
}

# Copy a daemon's pid from its (short-lived) pid file into DIR, so stop does
# not depend on the daemon keeping its own file.
record_pid() { # record_pid NAME PIDFILE
    i=0
    while [ ! -s "$2" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$2" ] || fail "$1 did not start (no pid file $2)"
    cp "$2" "$DIR/$1.pid"
}

deadline_passed() { [ "$(date +%s)" -ge "$DEADLINE" ]; }

do_start() {
    do_stop
    mkdir -p "$DIR/log" || exit 1
    rm -f "$DIR"/log/*.log
    DIR=$(cd "$DIR" && pwd)
    W=$(mktemp -d /tmp/rcrgw.XXXXXX) || exit 1
    echo "$W" >"$DIR/workdir"
    DEADLINE=$(($(date +%s) + BOOT_TIMEOUT))

    MON_PORT=$(free_port)
    RGW_PORT=$(free_port)
    STS_PORT=$(free_port)
    FSID=$(python3 -c 'import uuid; print(uuid.uuid4())')
    OSD_UUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
    CONF=$W/ceph.conf
    mkdir -p "$W/run" "$W/mon/a" "$W/osd/0"

    cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms bind ipv4 = true
ms bind ipv6 = false
public addr = 127.0.0.1
cluster addr = 127.0.0.1
run dir = $W/run
admin socket = $W/run/\$name.asok
pid file = $W/run/\$name.pid
log file = $DIR/log/\$name.log
keyring = $W/keyring
mon data = $W/mon/\$id
osd data = $W/osd/\$id
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-2147483648}
osd class update on start = false
osd crush update on start = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd max object name len = 460
osd max object namespace len = 64
mon warn on pool no redundancy = false
mgr initial modules =
debug ms = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 64
rgw enable usage log = false
rgw gc processor period = 3600
rgw max listing results = 1000
[client.rgwsts]
rgw frontends = beast endpoint=127.0.0.1:$STS_PORT tcp_nodelay=1
rgw thread pool size = 16
rgw enable usage log = false
rgw gc processor period = 3600
rgw max listing results = 1000
rgw sts key = $STS_KEY
rgw s3 auth use sts = true
EOF
    CEPH="ceph -c $CONF --connect-timeout 10"

    # Monitor: the monmap gets a v1 address because the port is not 6789.
    monmaptool --create --clobber --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" \
        "$W/monmap" >"$DIR/log/setup.log" 2>&1 || fail "monmaptool failed"
    ceph-mon -c "$CONF" -i a --mkfs --monmap "$W/monmap" >>"$DIR/log/setup.log" 2>&1 \
        || fail "ceph-mon --mkfs failed"
    ceph-mon -c "$CONF" -i a >>"$DIR/log/setup.log" 2>&1 || fail "ceph-mon did not start"
    record_pid mon "$W/run/mon.a.pid"

    # OSD: created and placed in the CRUSH map by hand (crush update on start is
    # off, see DESIGN.md).
    OSD_ID=""
    while [ -z "$OSD_ID" ]; do
        OSD_ID=$($CEPH osd new "$OSD_UUID" 2>>"$DIR/log/setup.log")
        [ -n "$OSD_ID" ] && break
        deadline_passed && fail "monitor on 127.0.0.1:$MON_PORT did not answer"
        sleep 0.5
    done
    ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$DIR/log/setup.log" 2>&1 \
        || fail "ceph-osd --mkfs failed"
    $CEPH osd crush add "osd.$OSD_ID" 1.0 host=localhost root=default >>"$DIR/log/setup.log" 2>&1 \
        || fail "could not add osd.$OSD_ID to the CRUSH map"
    ceph-osd -c "$CONF" -i "$OSD_ID" >>"$DIR/log/setup.log" 2>&1 || fail "ceph-osd did not start"
    record_pid osd "$W/run/osd.$OSD_ID.pid"
    until $CEPH osd dump 2>/dev/null | grep -q "^osd.$OSD_ID up"; do
        deadline_passed && fail "osd.$OSD_ID did not come up"
        sleep 0.5
    done

    # RGW creates its pools on first start.
    radosgw -c "$CONF" -n client.rgw >>"$DIR/log/setup.log" 2>&1 || fail "radosgw did not start"
    record_pid rgw "$W/run/client.rgw.pid"
    until curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; do
        deadline_passed && fail "radosgw did not answer on 127.0.0.1:$RGW_PORT"
        kill -0 "$(cat "$DIR/rgw.pid")" 2>/dev/null || fail "radosgw exited"
        sleep 0.3
    done

    radosgw-admin -c "$CONF" -n client.rgw user create --uid=r2cache-test \
        --display-name="r2cache test" --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
        >>"$DIR/log/setup.log" 2>&1 || fail "radosgw-admin user create failed"

    # STS: the test user may call GetSessionToken, so tests/sts_stub.py can hand
    # out real temporary credentials (a session token RGW checks) from the
    # second gateway. The policy allows only that call; the user's S3
    # permissions are unchanged.
    radosgw -c "$CONF" -n client.rgwsts >>"$DIR/log/setup.log" 2>&1 || fail "radosgw (STS) did not start"
    record_pid rgwsts "$W/run/client.rgwsts.pid"
    until curl -s -o /dev/null "http://127.0.0.1:$STS_PORT/"; do
        deadline_passed && fail "radosgw (STS) did not answer on 127.0.0.1:$STS_PORT"
        kill -0 "$(cat "$DIR/rgwsts.pid")" 2>/dev/null || fail "radosgw (STS) exited"
        sleep 0.3
    done
    radosgw-admin -c "$CONF" -n client.rgw caps add --uid=r2cache-test --caps="user-policy=*" \
        >>"$DIR/log/setup.log" 2>&1 || fail "radosgw-admin caps add failed"
    until python3 - "$RGW_PORT" "$ACCESS_KEY" "$SECRET_KEY" >>"$DIR/log/setup.log" 2>&1 <<'EOF'
import datetime, hashlib, hmac, json, sys, urllib.parse, urllib.request, urllib.error
port, ak, sk = sys.argv[1:4]
host = "127.0.0.1:%s" % port
policy = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}
body = urllib.parse.urlencode({"Action": "PutUserPolicy", "Version": "2010-05-08",
                               "UserName": "r2cache-test", "PolicyName": "r2cache-sts",
                               "PolicyDocument": json.dumps(policy)}).encode()
now = datetime.datetime.utcnow()
amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
bh = hashlib.sha256(body).hexdigest()
ctype = "application/x-www-form-urlencoded"
canon = "POST\n/\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n\ncontent-type;host;x-amz-date\n%s" % (
    ctype, host, amzdate, bh)
scope = "%s/us-east-1/iam/aws4_request" % day
sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amzdate, scope, hashlib.sha256(canon.encode()).hexdigest())
k = ("AWS4" + sk).encode()
for part in (day, "us-east-1", "iam", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request("http://%s/" % host, method="POST", data=body, headers={
    "Content-Type": ctype, "x-amz-date": amzdate,
    "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host;x-amz-date, Signature=%s" % (ak, scope, sig)})
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as ex:
    print("put user policy: HTTP %d %s" % (ex.code, ex.read().decode(errors="replace")))
    sys.exit(1)
EOF
    do
        deadline_passed && fail "could not allow GetSessionToken for the test user"
        sleep 0.5
    done

    # Create the bucket (retried: the new user may take a moment to be visible).
    until python3 - "$RGW_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$BUCKET" >>"$DIR/log/setup.log" 2>&1 <<'EOF'
import datetime, hashlib, hmac, sys, urllib.request, urllib.error
port, ak, sk, bucket = sys.argv[1:5]
host = "127.0.0.1:%s" % port
now = datetime.datetime.utcnow()
amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
empty = hashlib.sha256(b"").hexdigest()
canon = "PUT\n/%s\n\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\nhost;x-amz-content-sha256;x-amz-date\n%s" % (
    bucket, host, empty, amzdate, empty)
scope = "%s/us-east-1/s3/aws4_request" % day
sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amzdate, scope, hashlib.sha256(canon.encode()).hexdigest())
k = ("AWS4" + sk).encode()
for part in (day, "us-east-1", "s3", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request("http://%s/%s" % (host, bucket), method="PUT", data=b"", headers={
    "x-amz-date": amzdate, "x-amz-content-sha256": empty,
    "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s" % (ak, scope, sig)})
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as ex:
    body = ex.read().decode(errors="replace")
    if ex.code == 409 and "BucketAlreadyOwnedByYou" in body:
        sys.exit(0)
    print("create bucket: HTTP %d %s" % (ex.code, body))
    sys.exit(1)
EOF
    do
        deadline_passed && fail "could not create bucket $BUCKET"
        sleep 0.5
    done

    cat >"$DIR/env.tmp" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
export RC_TEST_BUCKET=$BUCKET
export RC_TEST_STS_ENDPOINT=http://127.0.0.1:$STS_PORT
EOF
    mv "$DIR/env.tmp" "$DIR/env"
    echo "rgw.sh: S3 endpoint http://127.0.0.1:$RGW_PORT bucket $BUCKET ($DIR/env)"
}

case "$cmd" in
start) do_start ;;
stop) do_stop ;;
*) usage ;;
esac
