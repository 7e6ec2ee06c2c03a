#!/usr/bin/env python3
"""Ask pushbus who is online with the official Python server SDK (PyPI pusher==3.3.4).

The SDK has no method for pushbus's user-status routes, but it signs any request the
way it signs its own: a pusher.http.Request built on its client, sent by the client's
HTTP backend (what every SDK method does). So these are requests exactly as the SDK
signs them (GET with the empty body's body_md5, the path signed as sent):

    GET /apps/{id}/users/{user_id}      for each --user (percent-encoded in the path)
    GET /apps/{id}/users?after=&limit=  page after page from --after, following "next"
                                        while it starts with --after (at most 20 pages)
    GET /apps/{id}/users?limit=0        and GET /users/{201 characters}: the 400s

and prints one JSON object on stdout:

    {"statuses": {"<user id>": {...}, ...}, "pages": [{"users": [...], "next": ...}, ...],
     "refused": {"limit_0": "PusherBadRequest: ...", "long_id": "PusherBadRequest: ..."}}

Settings: --host, --port, --app-id, --key, --secret (defaults as publish.py), --user
(repeatable), --after (the prefix of the ids to list), --limit (page size, default 1).
Exit status 0 when every call answered as expected; otherwise {"error": ..., "step": ...}
and exit status 1.
"""
import argparse
import json
import os
import sys
from urllib.parse import quote

import pusher
from pusher.errors import PusherBadRequest
from pusher.http import GET, Request


def parse_args(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=env("PUSHBUS_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("PUSHBUS_PORT", "8080")))
    p.add_argument("--app-id", default=env("PUSHER_APP_ID", "3"))
    p.add_argument("--key", default=env("PUSHER_APP_KEY", "278d425bdf160c739803"))
    p.add_argument("--secret", default=env("PUSHER_APP_SECRET", "7ad3773142a6692b25b8"))
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--after", default="")
    p.add_argument("--limit", default="1")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    client = pusher.Pusher(
        app_id=args.app_id,
        key=args.key,
        secret=args.secret,
        ssl=False,
        host=args.host,
        port=args.port,
        timeout=5,
    )
    sdk = client._pusher_client  # what Pusher's own methods send their Requests through

    def get(path, params=None):
        # The SDK puts query values into the URL as they are (it never needs escaping for
        # its own parameters): ids listed here are plain.
        return sdk.http.send_request(Request(sdk, GET, "/apps/%s%s" % (args.app_id, path), params or {}))

    out = {"statuses": {}, "pages": [], "refused": {}}
    step = "start"
    try:
        for user in args.user:
            step = "status of %r" % user
            out["statuses"][user] = get("/users/%s" % quote(user, safe=""))
        after = args.after
        for _ in range(20):
            step = "page after %r" % after
            page = get("/users", {"after": after, "limit": args.limit})
            out["pages"].append(page)
            after = page.get("next")
            if not after or not after.startswith(args.after):
                break
        for name, path, params in [("limit_0", "/users", {"limit": "0"}), ("long_id", "/users/" + "x" * 201, {})]:
            step = "refused " + name
            try:
                get(path, params)
            except PusherBadRequest as e:
                out["refused"][name] = "%s: %s" % (type(e).__name__, e)
            else:
                raise AssertionError("%s was accepted" % name)
    except Exception as e:  # report which call failed and why
        out["error"] = "%s: %s" % (type(e).__name__, e)
        out["step"] = step
        print(json.dumps(out))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
