#!/usr/bin/env python3
"""s3proxy.py UPSTREAM_URL: a fault-injecting HTTP proxy in front of an S3 server.

Listens on 127.0.0.1 (a free port), prints "READY <port>" on stdout and nothing
else there. Requests are forwarded unchanged (method, path, query, every header
including the Host the client signed, body), so SigV4 signatures still verify
upstream. Faults the real server cannot produce come from a queue:

  POST   /__control   body: JSON list of faults, appended to the queue
  DELETE /__control   empty the queue
  GET    /__stats     JSON {"requests": n, "forwarded": n, "faults": {name: n},
                            "methods": {"PUT": n, ...}, "queued": n}
  POST   /__stats     reset the counters

Each proxied request consumes one queued fault (none left = "ok"):
  "ok"            forward
  "429"           429 with an S3 XML error body (SlowDown), like R2's per-key limit
  "503-slowdown"  503 SlowDown (AWS)
  "500"           500 InternalError
  "409"           409 ConditionalRequestConflict (AWS, concurrent conditional writes)
  "412"           412 PreconditionFailed
  "skew"          403 RequestTimeTooSkewed with ServerTime one hour ahead
  "reset"         read the request, then reset the connection (RST, no response)
  "stall:S"       read the request, send nothing for S seconds, then forward
"""
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.queue = []
        self.reset()

    def reset(self):
        self.requests = 0
        self.forwarded = 0
        self.faults = {}
        self.methods = {}

    def take(self, method):
        with self.lock:
            self.requests += 1
            self.methods[method] = self.methods.get(method, 0) + 1
            fault = self.queue.pop(0) if self.queue else "ok"
            if fault != "ok":
                key = fault.split(":")[0]
                self.faults[key] = self.faults.get(key, 0) + 1
            return fault


STATE = State()
UPSTREAM = None

ERRORS = {
    "429": (429, "SlowDown", "Reduce your concurrent request rate for the same object."),
    "503-slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "409": (409, "ConditionalRequestConflict", "A conflicting conditional operation is in progress."),
    "412": (412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _reply(self, status, body, ctype="application/xml", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", "s3proxy-%d" % STATE.requests)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _control(self, body):
        if self.path.startswith("/__control"):
            with STATE.lock:
                if self.command == "DELETE":
                    STATE.queue.clear()
                else:
                    faults = json.loads(body.decode() or "[]")
                    STATE.queue.extend(str(f) for f in faults)
                n = len(STATE.queue)
            self._reply(200, json.dumps({"queued": n}).encode(), "application/json")
            return True
        if self.path.startswith("/__stats"):
            with STATE.lock:
                if self.command == "POST":
                    STATE.reset()
                out = {"requests": STATE.requests, "forwarded": STATE.forwarded,
                       "faults": STATE.faults, "methods": STATE.methods, "queued": len(STATE.queue)}
            self._reply(200, json.dumps(out).encode(), "application/json")
            return True
        return False

    def _handle(self):
        body = self._body()
        if self._control(body):
            return
        fault = STATE.take(self.command)
        if fault in ERRORS:
            status, code, msg = ERRORS[fault]
            xml = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message>'
                   '<RequestId>s3proxy-fault</RequestId></Error>' % (code, msg)).encode()
            self._reply(status, xml)
            return
        if fault == "skew":
            server = time.gmtime(time.time() + 3600)
            xml = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code>'
                   '<Message>The difference between the request time and the current time is too '
                   'large.</Message><ServerTime>%s</ServerTime><RequestId>s3proxy-fault</RequestId>'
                   '</Error>' % time.strftime("%Y-%m-%dT%H:%M:%SZ", server)).encode()
            self._reply(403, xml, extra={"Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", server)})
            return
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault.startswith("stall:"):
            time.sleep(float(fault.split(":", 1)[1]))
        self._forward(body)

    def _forward(self, body):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP:
                    conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            with STATE.lock:
                STATE.forwarded += 1
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            length = resp.getheader("Content-Length")
            if self.command == "HEAD" and length is not None:
                self.send_header("Content-Length", length)
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global UPSTREAM
    if len(sys.argv) != 2:
        print("usage: s3proxy.py UPSTREAM_URL", file=sys.stderr)
        sys.exit(2)
    UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
    srv = Server(("127.0.0.1", 0), Handler)
    # Never outlive the test that started us, even if it dies before stopping us.
    parent = os.getppid()

    def watchdog():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
