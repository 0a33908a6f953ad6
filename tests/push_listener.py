#!/usr/bin/env python3
"""A stand-in Pushgateway for tests/test_metrics.c.

Records every request it receives (method, path, content type, body) as one
JSON line appended to --out, answers with --status, and prints only
"READY <port>" on stdout (tests/support.h starts it and stops it by pid).
"""
import argparse
import http.server
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--status", type=int, default=200)
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def record(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            rec = {"method": self.command, "path": self.path,
                   "content_type": self.headers.get("Content-Type"),
                   "expect": self.headers.get("Expect"),
                   "body": body.decode("utf-8", "replace")}
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            reply = b"" if args.status < 300 else b"pushed metrics are invalid or inconsistent\n"
            self.send_response(args.status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_PUT = record
        do_POST = record

        def log_message(self, fmt, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
