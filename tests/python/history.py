#!/usr/bin/env python3
"""Publish to a history channel and read its history back with the official Python
server SDK (PyPI pusher==3.3.4).

The SDK triggers the events itself (Pusher.trigger, data sent as the string given). It
has no method for pushbus's history route, but it signs any request the way it signs its
own: a pusher.http.Request built on its client, sent by the client's HTTP backend (what
every SDK method does). So these are requests exactly as the SDK signs them (GET with
the empty body's body_md5, the query parameters signed in order, the path as sent):

    POST /apps/{id}/events                          --count times, data {"n":1}, {"n":2}, ...
    GET  /apps/{id}/channels/{channel}/events       no parameters: the server's defaults
    GET  /apps/{id}/channels/{channel}/events?since=&limit=
                                                    page after page from --since, each
                                                    from the last serial of the one before,
                                                    until a page has no events (at most 20)
    GET  /apps/{id}/channels/{channel}/events?limit=0, and of --no-history-channel: the 400s

and prints one JSON object on stdout:

    {"triggered": N, "all": {...}, "pages": [{"channel", "epoch", "serial", "events"}, ...],
     "refused": {"limit_0": "PusherBadRequest: ...", "no_rule": "PusherBadRequest: ..."}}

Settings: --host, --port, --app-id, --key, --secret (defaults as publish.py), --channel,
--event (default ActivityFeedUpdated), --count (events triggered first, default 0),
--since (default 0), --limit (page size, default 2), --no-history-channel (a channel no
history rule names, default "no-history-here").
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
    p.add_argument("--channel", required=True)
    p.add_argument("--event", default="ActivityFeedUpdated")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--limit", type=int, default=2)
    p.add_argument("--no-history-channel", default="no-history-here")
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

    def history(channel, params=None):
        path = "/apps/%s/channels/%s/events" % (args.app_id, quote(channel, safe=""))
        return sdk.http.send_request(Request(sdk, GET, path, params or {}))

    out = {"triggered": 0, "pages": [], "refused": {}}
    step = "start"
    try:
        for n in range(1, args.count + 1):
            step = "trigger %d" % n
            client.trigger(args.channel, args.event, '{"n":%d}' % n)
            out["triggered"] = n
        step = "history with the defaults"
        out["all"] = history(args.channel)
        since = args.since
        for _ in range(20):
            step = "page since %d" % since
            page = history(args.channel, {"since": str(since), "limit": str(args.limit)})
            out["pages"].append(page)
            if not page["events"]:
                break
            since = page["events"][-1]["serial"]
        for name, channel, params in [
            ("limit_0", args.channel, {"limit": "0"}),
            ("no_rule", args.no_history_channel, {}),
        ]:
            step = "refused " + name
            try:
                history(channel, params)
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
