#!/usr/bin/env python3
"""Drive pushbus with the official Python server SDK (PyPI pusher==3.3.4).

Triggers one event, then queries the HTTP API with GET requests (which this
SDK signs with body_md5 of the empty body), and prints every result as one
JSON object on stdout:

    {"trigger": {...}, "channels_info": {...}, "channel_info": {...},
     "presence_channel_info": {...}, "users_info": {...}}

Settings come from command-line options or, when absent, the environment:

    --host / PUSHBUS_HOST (127.0.0.1)      --port / PUSHBUS_PORT (8080)
    --app-id / PUSHER_APP_ID (3)           --key / PUSHER_APP_KEY
    --secret / PUSHER_APP_SECRET           --channel (py-news)
    --presence-channel (presence-py.1)     --event (py.published)
    --data (JSON string, default {"from":"python"})

Exit status 0 when every call succeeded; otherwise the error is printed as
{"error": "...", "step": "..."} and the exit status is 1.
"""
import argparse
import json
import os
import sys

import pusher


def parse_args(argv):
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=env("PUSHBUS_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("PUSHBUS_PORT", "8080")))
    p.add_argument("--app-id", default=env("PUSHER_APP_ID", "3"))
    p.add_argument("--key", default=env("PUSHER_APP_KEY", "278d425bdf160c739803"))
    p.add_argument("--secret", default=env("PUSHER_APP_SECRET", "7ad3773142a6692b25b8"))
    p.add_argument("--channel", default="py-news")
    p.add_argument("--presence-channel", default="presence-py.1")
    p.add_argument("--event", default="py.published")
    p.add_argument("--data", default='{"from":"python"}')
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
    out = {}
    steps = [
        # data is a JSON string: the SDK sends it verbatim as the event data
        ("trigger", lambda: client.trigger([args.channel], args.event, args.data)),
        ("channels_info", lambda: client.channels_info(prefix_filter="presence-", attributes=["user_count"])),
        ("channel_info", lambda: client.channel_info(args.channel, ["subscription_count"])),
        ("presence_channel_info", lambda: client.channel_info(args.presence_channel, ["user_count"])),
        ("users_info", lambda: client.users_info(args.presence_channel)),
    ]
    for name, call in steps:
        try:
            out[name] = call()
        except Exception as e:  # report which call failed and why
            out["error"] = "%s: %s" % (type(e).__name__, e)
            out["step"] = name
            print(json.dumps(out))
            return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
