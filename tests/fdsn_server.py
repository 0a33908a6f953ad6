#!/usr/bin/env python3
"""fdsn_server.py: a small FDSN dataselect server for r2cache's tests.

Serves whole miniSEED 2 records from an SDS archive, as real data centres do
(every record whose time coverage overlaps the requested span), and injects
the failures real data centres produce, so the client's retry, split and
concurrency logic can be tested against a real socket.

    fdsn_server.py --sds DIR [--port N] [--delay-ms N]

Prints exactly one line "READY <port>" on stdout; logs go to stderr.

Endpoints:
  POST /fdsnws/dataselect/1/query   bulk body: "NET STA LOC CHA START END" lines
                                    ("--" = empty location; key=value lines such
                                    as nodata=404 are accepted)
  GET  /fdsnws/dataselect/1/query   net/sta/loc/cha/start/end parameters
  POST /control  JSON {"faults": [...], "delay_ms": N, "max_lines": N}
  GET  /stats    {"requests", "lines", "max_concurrent", "bodies" (last 10),
                  "last_headers" (of the last dataselect request, lower-case names)}
  POST /reset-stats

Restricted data (only with --auth-user/--auth-password or --auth-token):
  POST /fdsnws/dataselect/1/queryauth  as /query, behind HTTP digest (RFC 7616:
                                    MD5, qop=auth, realm "FDSN"); a missing or
                                    wrong Authorization gets 401 with a challenge
  POST /fdsnws/dataselect/1/auth    body: the token given by --auth-token
                                    (surrounding white space ignored); answers
                                    200 "user:password", fresh temporary
                                    credentials that queryauth accepts, each
                                    for --auth-temp-uses requests (default:
                                    unlimited; 0 = refused at once); another
                                    body gets 401
  POST /auth-expire                 forget every temporary credential issued
  GET  /stats                       also "auth": {"challenges", "digest_ok",
                                    "digest_refused", "token_requests",
                                    "tokens_refused", "issued" [[user, password]]}

Availability (fdsnws-availability 1; off with --no-availability, then a
plain HTML 404 as a server without the service answers, still counted):
  POST /fdsnws/availability/1/query  bulk body as dataselect (key=value lines
                                    such as format=text, nodata=404 accepted)
  GET  /fdsnws/availability/1/query  net/sta/loc/cha/start/end parameters
      answer: format=text, "#Network Station Location Channel Earliest Latest"
      then one row per span ("--" = empty location), spans computed from the
      records of --availability-sds (default: --sds) that overlap the request,
      merged where one record ends within 1 ms of the next one's start, and
      cut to the requested span; 204 (or an FDSN 404 with nodata=404) when
      none. Any other format is a 400. --availability-answer html: a web page
      with status 200 instead.
  GET  /stats                       also "availability": {"requests", "bodies"
                                    (last 10)}

Faults are consumed one per dataselect request, in order, then service is
normal: "ok", any status code ("204", "404", "413", "429", "500", ...; the
body is an FDSN error document, "Error 404: Not Found\n\n..." as the FDSN web
service specification words it), "429:retry-after=N" (with a Retry-After
header; works for any status), "stall:S" (headers and half the body, then S
seconds of silence, then close), "reset" (close with RST, no response),
"truncate" (Content-Length larger than the body, then close), "slow:MS"
(answer normally after MS milliseconds).
Answers that are not data, all status 200 unless said otherwise:
  "html"            a web page, Content-Type text/html
  "text"            a line of text, Content-Type text/plain
  "garbage-prefix"  the records with a multipart-style boundary line before them
  "cut-record"      the records with the last one cut in half; the
                    Content-Length matches the cut body
  "half"            Content-Length of the whole body, then half of it, then close
  "mseed3:FILE"     the bytes of FILE (miniSEED 3), application/vnd.fdsn.mseed
  "plain404"        404 with a web server's HTML page (not an FDSN error
                    document): what a wrong URL gets
  "other:N.S.L.C"   the records of channel N.S.L.C over the requested spans,
                    instead of the requested channels' (L may be empty)
  "earlier:S"       the requested channels' records S seconds before the
                    requested spans (another day's data)
Paths other than the ones below get that plain HTML 404 too, as a real web
server answers a URL it does not serve.
max_lines: any request with more lines than that gets 413.

The record-overlap rule matches src/source_sds.c: a record covers
[start, start + round(nsamples / rate)) in microseconds (one microsecond when
it has no samples or rate), and is returned when that overlaps [start, end).
"""
import argparse
import datetime
import hashlib
import re
import secrets
import json
import math
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EPOCH = datetime.datetime(1970, 1, 1)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class BadRequest(Exception):
    pass


def parse_time(s):
    """ISO time (or date) to integer microseconds since the epoch."""
    t = s.strip()
    if t.endswith("Z"):
        t = t[:-1]
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            d = datetime.datetime.strptime(t, fmt)
        except ValueError:
            continue
        delta = d - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    raise BadRequest("bad time '%s'" % s)


def nominal_rate(factor, mult):
    if factor > 0 and mult > 0:
        return float(factor * mult)
    if factor > 0 and mult < 0:
        return -float(factor) / mult
    if factor < 0 and mult > 0:
        return -float(mult) / factor
    if factor < 0 and mult < 0:
        return 1.0 / (factor * mult)
    return 0.0


def parse_record(buf, off):
    """Header of the miniSEED 2 record at off: (length, codes, start_us, end_us)."""
    if len(buf) - off < 48:
        raise ValueError("short record header at %d" % off)
    h = buf[off:off + 48]
    year_be = struct.unpack(">H", h[20:22])[0]
    bo = ">" if 1900 <= year_be <= 2100 else "<"
    year, doy, hour, minute, sec, _, fract = struct.unpack(bo + "HHBBBBH", h[20:30])
    if not (1900 <= year <= 2100 and 1 <= doy <= 366):
        raise ValueError("not a miniSEED 2 record at offset %d" % off)
    nsamp, factor, mult = struct.unpack(bo + "Hhh", h[30:36])
    act_flags = h[36]
    tcorr = struct.unpack(bo + "i", h[40:44])[0]
    first_blk = struct.unpack(bo + "H", h[46:48])[0]
    sta = h[8:13].decode("ascii", "replace").strip()
    loc = h[13:15].decode("ascii", "replace").strip()
    cha = h[15:18].decode("ascii", "replace").strip()
    net = h[18:20].decode("ascii", "replace").strip()
    rate = nominal_rate(factor, mult)
    reclen = None
    usec = 0
    b = first_blk
    seen = 0
    while b and seen < 32 and off + b + 4 <= len(buf):
        btype, bnext = struct.unpack(bo + "HH", buf[off + b:off + b + 4])
        if btype == 1000:
            reclen = 1 << buf[off + b + 6]
        elif btype == 1001:
            usec = struct.unpack("b", buf[off + b + 5:off + b + 6])[0]
        elif btype == 100:
            rate = float(struct.unpack(bo + "f", buf[off + b + 4:off + b + 8])[0])
        if bnext <= b:
            break
        b = bnext
        seen += 1
    if reclen is None:
        raise ValueError("record at offset %d has no blockette 1000" % off)
    days = (datetime.date(year, 1, 1) - EPOCH.date()).days + doy - 1
    start = ((days * 86400 + hour * 3600 + minute * 60 + sec) * 1000000 + fract * 100 + usec)
    if tcorr and not (act_flags & 0x02):
        start += tcorr * 100
    if nsamp > 0 and rate > 0:
        length = int(math.floor(nsamp * 1000000.0 / rate + 0.5))
        end = start + max(length, 1)
    else:
        end = start + 1
    return reclen, (net, sta, loc, cha), start, end


def sds_records(root, codes, start_us, end_us):
    """Whole records of one channel overlapping [start_us, end_us)."""
    net, sta, loc, cha = codes
    out = []
    day0 = start_us // 1000000 // 86400 - 1  # a record may start the day before
    day1 = (end_us - 1) // 1000000 // 86400
    for day in range(day0, day1 + 1):
        d = EPOCH.date() + datetime.timedelta(days=day)
        doy = d.timetuple().tm_yday
        path = os.path.join(root, "%04d" % d.year, net, sta, cha + ".D",
                            "%s.%s.%s.%s.D.%04d.%03d" % (net, sta, loc, cha, d.year, doy))
        try:
            with open(path, "rb") as f:
                buf = f.read()
        except FileNotFoundError:
            continue
        off = 0
        while off < len(buf):
            reclen, rcodes, rs, re_ = parse_record(buf, off)
            if rcodes == (net, sta, loc, cha) and rs < end_us and re_ > start_us:
                out.append(buf[off:off + reclen])
            off += reclen
    return out


def parse_bulk(text):
    """Bulk body to (options, [(codes, start_us, end_us)])."""
    opts = {}
    lines = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if "=" in line and len(line.split()) == 1:
            k, v = line.split("=", 1)
            opts[k.strip()] = v.strip()
            continue
        parts = line.split()
        if len(parts) != 6:
            raise BadRequest("line %d: expected 'NET STA LOC CHA START END', got '%s'" % (no, line))
        net, sta, loc, cha, t0, t1 = parts
        if loc == "--":
            loc = ""
        s, e = parse_time(t0), parse_time(t1)
        if e <= s:
            raise BadRequest("line %d: end is not after start" % no)
        lines.append(((net, sta, loc, cha), s, e))
    if not lines:
        raise BadRequest("no request lines")
    return opts, lines


HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Seismic data portal</title></head>\n"
             b"<body><h1>Welcome</h1><p>Browse our data holdings.</p></body></html>\n")

# What a broken proxy or multipart-minded server puts before the records.
GARBAGE_PREFIX = b"--frontier\r\nContent-Type: application/vnd.fdsn.mseed\r\n\r\n"


def last_record(data):
    """The bytes of the last record of a body of whole records."""
    off = 0
    last = b""
    while off < len(data):
        reclen = parse_record(data, off)[0]
        last = data[off:off + reclen]
        off += reclen
    return last


class State:
    def __init__(self, sds, delay_ms):
        self.lock = threading.Lock()
        self.sds = sds
        self.delay_ms = delay_ms
        self.faults = []
        self.max_lines = 0
        self.reset_stats()

    def reset_stats(self):
        self.requests = 0
        self.lines = 0
        self.concurrent = 0
        self.max_concurrent = 0
        self.bodies = []
        self.last_headers = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "r2cache-fdsn-test/1"

    def log_message(self, fmt, *args):
        log("%s - %s" % (self.address_string(), fmt % args))

    # -- helpers ----------------------------------------------------------
    def send_body(self, status, body, ctype="text/plain", extra=None, close=False):
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if status != 204 and body:
            self.wfile.write(body)

    def send_error_text(self, status, reason, detail, extra=None):
        """An FDSN error document (FDSN web service specifications 1.2, 2.4)."""
        when = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        body = ("Error %d: %s\n\n%s\n\nRequest:\n%s\n\nRequest Submitted:\n%s\n\n"
                "Service version:\n1.1.0\n" % (status, reason, detail, self.path, when)).encode()
        self.send_body(status, body, extra=extra)

    def send_plain_404(self):
        """What nginx says about a URL it does not serve."""
        body = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                b"</body>\r\n</html>\r\n")
        self.send_body(404, body, "text/html")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def state(self):
        return self.server.state

    # -- routing ----------------------------------------------------------
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/stats":
            st = self.state()
            with st.lock:
                doc = {"requests": st.requests, "lines": st.lines,
                       "max_concurrent": st.max_concurrent, "bodies": list(st.bodies),
                       "last_headers": st.last_headers}
            doc.update(auth_stats(self))
            doc.update(avail_stats(self))
            self.send_body(200, json.dumps(doc).encode(), "application/json")
        elif u.path == "/fdsnws/dataselect/1/query":
            q = urllib.parse.parse_qs(u.query)

            def p(*names, default=None):
                for n in names:
                    if n in q:
                        return q[n][0]
                if default is None:
                    raise BadRequest("missing parameter %s" % names[0])
                return default
            try:
                loc = p("loc", "location", default="--")
                body = "%s %s %s %s %s %s\n" % (
                    p("net", "network"), p("sta", "station"), loc if loc else "--",
                    p("cha", "channel"), p("start", "starttime"), p("end", "endtime"))
                if p("nodata", default="204") == "404":
                    body = "nodata=404\n" + body
            except BadRequest as exc:
                self.count_request(0, "")
                self.send_error_text(400, "Bad Request", str(exc))
                return
            self.dataselect(body)
        elif u.path == "/fdsnws/dataselect/1/version":
            self.send_body(200, b"1.1.0\n")
        elif avail_get(self, u):
            pass
        else:
            self.send_plain_404()

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.read_body()
        st = self.state()
        if u.path == "/control":
            try:
                doc = json.loads(body or b"{}")
            except ValueError as exc:
                self.send_error_text(400, "Bad Request", "bad JSON: %s" % exc)
                return
            with st.lock:
                if "faults" in doc:
                    st.faults = [str(f) for f in doc["faults"]]
                if "delay_ms" in doc:
                    st.delay_ms = int(doc["delay_ms"])
                if "max_lines" in doc:
                    st.max_lines = int(doc["max_lines"])
            self.send_body(200, b"{}", "application/json")
        elif u.path == "/reset-stats":
            with st.lock:
                st.reset_stats()
            self.send_body(200, b"{}", "application/json")
        elif u.path == "/fdsnws/dataselect/1/query":
            self.dataselect(body.decode("utf-8", "replace"))
        elif auth_post(self, u.path, body):
            pass
        elif avail_post(self, u.path, body):
            pass
        else:
            self.send_plain_404()

    # -- dataselect -------------------------------------------------------
    def count_request(self, nlines, text):
        st = self.state()
        with st.lock:
            st.last_headers = {k.lower(): v for k, v in self.headers.items()}
            st.requests += 1
            st.lines += nlines
            st.bodies = (st.bodies + [text])[-10:]

    def dataselect(self, text):
        st = self.state()
        try:
            opts, lines = parse_bulk(text)
        except BadRequest as exc:
            self.count_request(0, text)
            self.send_error_text(400, "Bad Request", str(exc))
            return
        self.count_request(len(lines), text)
        with st.lock:
            st.concurrent += 1
            st.max_concurrent = max(st.max_concurrent, st.concurrent)
            fault = st.faults.pop(0) if st.faults else "ok"
            delay = st.delay_ms
            max_lines = st.max_lines
        try:
            if delay > 0:
                time.sleep(delay / 1000.0)
            self.answer(fault, opts, lines, max_lines)
        finally:
            with st.lock:
                st.concurrent -= 1

    def answer(self, fault, opts, lines, max_lines):
        name, _, arg = fault.partition(":")
        extra = {}
        if arg.startswith("retry-after="):
            extra["Retry-After"] = arg.split("=", 1)[1]
        if name == "slow":
            time.sleep(int(arg or "0") / 1000.0)
            name = "ok"
        if name == "reset":
            self.reset_connection()
            return
        if name == "plain404":
            self.send_plain_404()
            return
        if name == "html":
            self.send_body(200, HTML_PAGE, "text/html; charset=utf-8")
            return
        if name == "text":
            self.send_body(200, b"Service is up. Try again with a proper request.\n", "text/plain")
            return
        if name == "mseed3":
            with open(arg, "rb") as f:
                self.send_body(200, f.read(), "application/vnd.fdsn.mseed")
            return
        if name.isdigit():
            code = int(name)
            if code == 204:
                self.send_body(204, b"", extra=extra)
            else:
                reason = self.responses.get(code, ("Error",))[0]
                self.send_error_text(code, reason, "fault injected by the test", extra)
            return
        if max_lines and len(lines) > max_lines:
            self.send_error_text(413, "Payload Too Large",
                                 "%d lines, at most %d per request" % (len(lines), max_lines))
            return
        if name == "other":
            net, sta, loc, cha = arg.split(".")
            lines = [((net, sta, loc, cha), s, e) for _codes, s, e in lines]
        elif name == "earlier":
            back = int(arg) * 1000000
            lines = [(codes, s - back, e - back) for codes, s, e in lines]
        try:
            data = b"".join(r for codes, s, e in lines
                            for r in sds_records(self.state().sds, codes, s, e))
        except ValueError as exc:
            self.send_error_text(500, "Internal Server Error", str(exc))
            return
        if not data:
            if opts.get("nodata") == "404":
                self.send_error_text(404, "Not Found", "no data for the request")
            else:
                self.send_body(204, b"")
            return
        ctype = "application/vnd.fdsn.mseed"
        if name == "garbage-prefix":
            self.send_body(200, GARBAGE_PREFIX + data, ctype)
        elif name == "cut-record":
            last = len(data) - len(last_record(data))
            self.send_body(200, data[:last + (len(data) - last) // 2], ctype)
        elif name == "half":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.close_connection = True
        elif name == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data) + 1000))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
        elif name == "stall":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            time.sleep(float(arg or "5"))
            self.close_connection = True
        else:
            self.send_body(200, data, ctype)

    def reset_connection(self):
        # SO_LINGER 0 makes close() send RST instead of FIN; detach so that
        # the server's own shutdown(SHUT_WR) cannot send a FIN first.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())
        self.close_connection = True


# -- restricted data: digest auth on queryauth, EIDA-style token exchange ----

REALM = "FDSN"


class AuthState:
    """Who may use queryauth: the --auth-user pair and the temporary
    credentials /auth issued (user -> [password, uses left or None])."""

    def __init__(self, user, password, token, temp_uses):
        self.user, self.password, self.token = user, password, token
        self.temp_uses = temp_uses
        self.temp = {}
        self.nonces = set()
        self.stats = {"challenges": 0, "digest_ok": 0, "digest_refused": 0,
                      "token_requests": 0, "tokens_refused": 0, "issued": []}


def md5hex(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def digest_fields(header):
    """The key=value pairs of a 'Digest ...' Authorization header, or None."""
    if not header or not header.lower().startswith("digest "):
        return None
    return {k.lower(): (q if q is not None and v.startswith('"') else v)
            for k, v, q in ((m.group(1), m.group(2), m.group(3))
                            for m in re.finditer(r'(\w+)=("([^"]*)"|[^,\s]*)', header[7:]))}


def digest_check(h, auth):
    """True when the request carries a valid digest response (RFC 7616,
    MD5, qop=auth) for a known user; counts a temporary credential's use."""
    f = digest_fields(h.headers.get("Authorization"))
    st = h.state()
    with st.lock:
        if f is None:
            auth.stats["challenges"] += 1
            return False
        user = f.get("username", "")
        if user == auth.user and auth.password is not None:
            password, temp = auth.password, None
        elif user in auth.temp:
            password, temp = auth.temp[user][0], auth.temp[user]
        else:
            password, temp = None, None
        ok = (password is not None and f.get("realm") == REALM
              and f.get("nonce") in auth.nonces and f.get("uri") == h.path
              and f.get("qop") == "auth" and f.get("algorithm", "MD5").upper() == "MD5"
              and "nc" in f and "cnonce" in f)
        if ok:
            ha1 = md5hex("%s:%s:%s" % (user, REALM, password))
            ha2 = md5hex("%s:%s" % (h.command, f["uri"]))
            want = md5hex(":".join([ha1, f["nonce"], f["nc"], f["cnonce"], "auth", ha2]))
            ok = secrets.compare_digest(want, f.get("response", ""))
        if ok and temp is not None:
            if temp[1] is not None:
                if temp[1] <= 0:
                    ok = False
                else:
                    temp[1] -= 1
        auth.stats["digest_ok" if ok else "digest_refused"] += 1
        return ok


def digest_challenge(h, auth):
    nonce = secrets.token_hex(16)
    with h.state().lock:
        auth.nonces.add(nonce)
    h.send_error_text(401, "Unauthorized", "authentication required", extra={
        "WWW-Authenticate": 'Digest realm="%s", qop="auth", nonce="%s", opaque="%s", '
                            'algorithm=MD5' % (REALM, nonce, secrets.token_hex(8))})


def token_exchange(h, auth, body):
    st = h.state()
    given = body.decode("utf-8", "replace").strip()
    with st.lock:
        auth.stats["token_requests"] += 1
        ok = auth.token is not None and secrets.compare_digest(given, auth.token.strip())
        if ok:
            user = "tmp%d" % len(auth.stats["issued"])
            password = secrets.token_hex(12)
            auth.temp[user] = [password, auth.temp_uses]
            auth.stats["issued"].append([user, password])
        else:
            auth.stats["tokens_refused"] += 1
    if ok:
        h.send_body(200, ("%s:%s" % (user, password)).encode())
    else:
        h.send_error_text(401, "Unauthorized", "the token is not valid")


def auth_post(h, path, body):
    """The restricted-data endpoints; False when path is none of them."""
    auth = getattr(h.server, "auth", None)
    if auth is None:
        return False
    if path == "/fdsnws/dataselect/1/queryauth":
        if digest_check(h, auth):
            h.dataselect(body.decode("utf-8", "replace"))
        else:
            digest_challenge(h, auth)
    elif path == "/fdsnws/dataselect/1/auth" and auth.token is not None:
        token_exchange(h, auth, body)
    elif path == "/auth-expire":
        with h.state().lock:
            auth.temp.clear()
        h.send_body(200, b"{}", "application/json")
    else:
        return False
    return True


def auth_stats(h):
    auth = getattr(h.server, "auth", None)
    if auth is None:
        return {}
    with h.state().lock:
        return {"auth": json.loads(json.dumps(auth.stats))}


def add_auth_args(ap):
    ap.add_argument("--auth-user", help="user for digest auth on queryauth")
    ap.add_argument("--auth-password", help="its password")
    ap.add_argument("--auth-token", help="the EIDA token /auth accepts")
    ap.add_argument("--auth-temp-uses", type=int, default=None,
                    help="requests each temporary credential is good for (default unlimited)")


def auth_from_args(a):
    if a.auth_user is None and a.auth_token is None:
        return None
    return AuthState(a.auth_user, a.auth_password, a.auth_token, a.auth_temp_uses)


class AvailState:
    """The availability endpoint's archive and counters."""

    def __init__(self, sds, enabled, answer):
        self.sds = sds
        self.enabled = enabled
        self.answer = answer
        self.reset()

    def reset(self):
        self.requests = 0
        self.bodies = []


def avail_spans(root, codes, start_us, end_us):
    """Merged [start, end) spans of one channel's records, cut to the request."""
    spans = []
    for rec in sds_records(root, codes, start_us, end_us):
        _, _, rs, re_ = parse_record(rec, 0)
        rs, re_ = max(rs, start_us), min(re_, end_us)
        if re_ <= rs:
            continue
        spans.append([rs, re_])
    spans.sort()
    out = []
    for sp in spans:
        if out and sp[0] <= out[-1][1] + 1000:
            out[-1][1] = max(out[-1][1], sp[1])
        else:
            out.append(sp)
    return out


def fmt_us(us):
    t = EPOCH + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def avail_answer(h, text):
    av = h.server.avail
    st = h.state()
    with st.lock:
        av.requests += 1
        av.bodies = (av.bodies + [text])[-10:]
    if not av.enabled:
        h.send_plain_404()
        return
    if av.answer == "html":
        h.send_body(200, HTML_PAGE, "text/html; charset=utf-8")
        return
    try:
        opts, lines = parse_bulk(text)
    except BadRequest as exc:
        h.send_error_text(400, "Bad Request", str(exc))
        return
    if opts.get("format", "text") != "text":
        h.send_error_text(400, "Bad Request", "format %s is not served here" % opts["format"])
        return
    rows = []
    for codes, s, e in lines:
        for a, b in avail_spans(av.sds, codes, s, e):
            net, sta, loc, cha = codes
            rows.append("%s %s %s %s %s %s\n" % (net, sta, loc or "--", cha, fmt_us(a), fmt_us(b)))
    if not rows:
        if opts.get("nodata") == "404":
            h.send_error_text(404, "Not Found", "No data available for the request")
        else:
            h.send_body(204, b"")
        return
    body = "#Network Station Location Channel Earliest Latest\n" + "".join(rows)
    h.send_body(200, body.encode(), "text/plain")


def avail_post(h, path, body):
    """POST /fdsnws/availability/1/query; False when not that."""
    if getattr(h.server, "avail", None) is None or path != "/fdsnws/availability/1/query":
        return False
    avail_answer(h, body.decode("utf-8", "replace"))
    return True


def avail_get(h, u):
    """GET /fdsnws/availability/1/query (and /version); False otherwise."""
    if getattr(h.server, "avail", None) is None:
        return False
    if u.path == "/fdsnws/availability/1/version":
        if h.server.avail.enabled:
            h.send_body(200, b"1.0.0\n")
        else:
            h.send_plain_404()
        return True
    if u.path != "/fdsnws/availability/1/query":
        return False
    q = urllib.parse.parse_qs(u.query)

    def p(*names, default=None):
        for n in names:
            if n in q:
                return q[n][0]
        return default
    loc = p("loc", "location", default="--")
    text = "format=%s\nnodata=%s\n%s %s %s %s %s %s\n" % (
        p("format", default="text"), p("nodata", default="204"), p("net", "network", default=""),
        p("sta", "station", default=""), loc or "--", p("cha", "channel", default=""),
        p("start", "starttime", default=""), p("end", "endtime", default=""))
    avail_answer(h, text)
    return True


def avail_stats(h):
    av = getattr(h.server, "avail", None)
    if av is None:
        return {}
    with h.state().lock:
        return {"availability": {"requests": av.requests, "bodies": list(av.bodies)}}


def add_avail_args(ap):
    ap.add_argument("--no-availability", action="store_true",
                    help="serve no /fdsnws/availability/1 (plain 404)")
    ap.add_argument("--availability-sds", help="SDS archive availability is computed from "
                    "(default: --sds)")
    ap.add_argument("--availability-answer", choices=["ok", "html"], default="ok",
                    help="html: every availability query gets a web page with status 200")


def avail_from_args(a):
    return AvailState(a.availability_sds or a.sds, not a.no_availability, a.availability_answer)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        log("connection from %s ended with %s" % (client_address, sys.exc_info()[1]))


def watch_parent(ppid):
    # A test process that dies without stopping us must not leave us behind.
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sds", required=True, help="SDS archive root")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    add_auth_args(ap)
    add_avail_args(ap)
    a = ap.parse_args()
    if not os.path.isdir(a.sds):
        log("fdsn_server: --sds %s is not a directory" % a.sds)
        return 2
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.state = State(a.sds, a.delay_ms)
    srv.auth = auth_from_args(a)
    srv.avail = avail_from_args(a)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
