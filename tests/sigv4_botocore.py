#!/usr/bin/env python3
"""sigv4_botocore.py CASES.json: sign requests with botocore's S3 SigV4 signer.

Differential test helper for tests/test_sigv4.c: the C test writes the same
requests it signs itself; this prints one line per case,
"AUTH <Authorization header>", computed by botocore (an independent
implementation) for the same date. Exit 77 when botocore is not installed so
the caller can skip visibly.

Each case: {"method", "host", "path" (decoded), "query": [[name, value], ...],
"headers": [[name, value], ...], "body" (text), "amz_date", "region",
"access_key", "secret_key", "token" (optional)}.
"""
import json
import sys
from urllib.parse import quote

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("SKIP: botocore is not importable", file=sys.stderr)
    sys.exit(77)


def sign(case):
    creds = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    auth = S3SigV4Auth(creds, "s3", case["region"])
    # The URL path is what botocore's S3 serializer sends: quoted once, "/" kept.
    url = "http://%s%s" % (case["host"], quote(case["path"], safe="/~"))
    headers = {"Host": case["host"]}
    for name, value in case["headers"]:
        headers[name] = value
    req = AWSRequest(method=case["method"], url=url, headers=headers,
                     data=case["body"].encode(), params=[tuple(p) for p in case["query"]])
    # add_auth reads the clock; these are its steps with the case's fixed date.
    req.context["timestamp"] = case["amz_date"]
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    sts = auth.string_to_sign(req, canonical)
    auth._inject_signature_to_request(req, auth.signature(sts, req))
    return req.headers["Authorization"]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        print("AUTH " + sign(case))


if __name__ == "__main__":
    main()
