#!/usr/bin/env python3
"""sts_stub.py --rgw URL --token TOKEN [--expires-in S] [--calls FILE]: an STS
AssumeRoleWithWebIdentity endpoint for tests/test_awscred.c.

It checks the request the way AWS STS does (POST form, Action, Version,
RoleArn, RoleSessionName, WebIdentityToken) and accepts only the web identity
token given with --token (anything else: 400 InvalidIdentityToken, as STS).
The credentials it hands out are real temporary ones: it calls RGW's STS
GetSessionToken (tests/rgw.sh enables it) with the permanent test keys from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, so what r2cache signs with them,
session token included, is checked by RGW. The Expiration it reports is now +
--expires-in seconds (RGW's own tokens last 900 s at least), so a test can see
a refresh. Every call appends one line to --calls: "ROLE SESSION OK|BAD KEYID".

Prints "READY <port>" when listening on 127.0.0.1 (port 0: any free port).
"""
import argparse
import datetime
import hashlib
import hmac
import os
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def rgw_session_token(rgw, ak, sk):
    """Real temporary credentials from RGW: (key id, secret, token)."""
    host = urllib.parse.urlparse(rgw).netloc
    body = urllib.parse.urlencode({"Action": "GetSessionToken", "Version": "2011-06-15",
                                   "DurationSeconds": "900"}).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    ctype = "application/x-www-form-urlencoded"
    canon = "POST\n/\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n\ncontent-type;host;x-amz-date\n%s" % (
        ctype, host, amzdate, hashlib.sha256(body).hexdigest())
    scope = "%s/us-east-1/sts/aws4_request" % day
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amzdate, scope,
                                            hashlib.sha256(canon.encode()).hexdigest())
    k = ("AWS4" + sk).encode()
    for part in (day, "us-east-1", "sts", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(rgw.rstrip("/") + "/", method="POST", data=body, headers={
        "Content-Type": ctype, "x-amz-date": amzdate,
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host;"
                         "x-amz-date, Signature=%s" % (ak, scope, sig)})
    with urllib.request.urlopen(req, timeout=20) as r:
        xml = r.read().decode()
    got = {}
    for name in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        m = re.search(r"<%s>([^<]+)</%s>" % (name, name), xml)
        if not m:
            raise RuntimeError("RGW GetSessionToken answer has no %s: %s" % (name, xml[:300]))
        got[name] = m.group(1)
    return got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"]


def error_xml(code, message):
    return ('<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code>'
            "<Message>%s</Message></Error><RequestId>stub-req-1</RequestId></ErrorResponse>"
            % (NS, code, escape(message))).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rgw", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--expires-in", type=int, default=3600)
    ap.add_argument("--calls", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    ak, sk = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def record(self, role, session, what):
            with lock, open(a.calls, "a") as f:
                f.write("%s %s %s\n" % (role or "-", session or "-", what))

        def do_GET(self):
            self.answer(400, error_xml("InvalidAction", "AssumeRoleWithWebIdentity is a POST here"))

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
            one = lambda k: (form.get(k) or [None])[0]
            role, session = one("RoleArn"), one("RoleSessionName")
            if self.headers.get("Authorization"):
                self.record(role, session, "SIGNED")  # STS takes this call unsigned
                return self.answer(400, error_xml("InvalidRequest", "unexpected Authorization"))
            if one("Action") != "AssumeRoleWithWebIdentity" or one("Version") != "2011-06-15":
                self.record(role, session, "BADACTION")
                return self.answer(400, error_xml("InvalidAction", "unknown action"))
            if not role or not session:
                self.record(role, session, "MISSING")
                return self.answer(400, error_xml("MissingParameter", "RoleArn, RoleSessionName"))
            if one("WebIdentityToken") != a.token:
                self.record(role, session, "BAD")
                return self.answer(400, error_xml("InvalidIdentityToken",
                                                  "Couldn't retrieve verification key from your "
                                                  "identity provider"))
            try:
                kid, secret, tok = rgw_session_token(a.rgw, ak, sk)
            except (urllib.error.URLError, RuntimeError) as ex:
                self.record(role, session, "RGWFAIL")
                return self.answer(500, error_xml("InternalFailure", "RGW: %s" % ex))
            self.record(role, session, "OK " + kid)
            exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=a.expires_in)
            body = ('<AssumeRoleWithWebIdentityResponse xmlns="%s"><AssumeRoleWithWebIdentityResult>'
                    "<SubjectFromWebIdentityToken>system:serviceaccount:seismic:r2cache"
                    "</SubjectFromWebIdentityToken><Credentials><AccessKeyId>%s</AccessKeyId>"
                    "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                    "<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s/%s</Arn>"
                    "</AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata>"
                    "<RequestId>stub-req-2</RequestId></ResponseMetadata>"
                    "</AssumeRoleWithWebIdentityResponse>"
                    % (NS, escape(kid), escape(secret), escape(tok),
                       exp.strftime("%Y-%m-%dT%H:%M:%SZ"), escape(role), escape(session)))
            self.answer(200, body.encode())

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
