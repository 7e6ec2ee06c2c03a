#!/usr/bin/env python3
"""Validate webhooks with the official Python server SDK (PyPI pusher==3.3.4).

Reads a JSON list of captured requests on stdin, each
{"key": X-Pusher-Key, "signature": X-Pusher-Signature, "body": raw body}, checks each
with Pusher.validate_webhook (signature and the 300 s time_ms window) and prints one
JSON list on stdout: the validated body's events for each request, or null for one
the SDK rejected.

    validate_webhooks.py --app-id ID --key KEY --secret SECRET < requests.json
"""
import argparse
import json
import sys

import pusher


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--app-id", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--secret", required=True)
    args = p.parse_args()
    client = pusher.Pusher(app_id=args.app_id, key=args.key, secret=args.secret)
    out = []
    for r in json.load(sys.stdin):
        valid = client.validate_webhook(r["key"], r["signature"], r["body"])
        out.append(valid["events"] if valid else None)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
