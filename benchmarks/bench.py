"""brz-imapclient benchmarks: each figure beside its peer, measured in one run.

Run with ``bash benchmarks/run``.  Targets:
- plugin load within noise of no plugin, as a paired ratio (issues 5, 10),
  and the plugin's own import at most 1% of ``brz version``;
- at most 6 turns and 0.6x git imap-send's time to the stored draft over a
  50 ms round-trip link (issue 5);
- a first send on plain Dovecot: at most 5 turns for the whole connection,
  nothing sent behind the login before its reply (issue 22);
- the next revision of a merge request: at most two exchanges more than a
  first send (issue 22);
- the next revision of a git series: the same turns for 2 patches as for
  12 (issue 29);
- a 10-patch series: at most 0.3x git imap-send's time, GMail's profile
  at most 0.7x, ``brz imap-send`` of one message as a whole process at
  most 1.1x (issue 22, which has nothing sent behind a login before its
  reply);
- a 50 MB bundle uploaded with at most 3x its size in extra memory and at
  least 50 MB/s to loopback; ``brz send`` at most 0.5x the message in extra
  peak memory and 1 s over ``brz send -o`` (issue 22); the IMAP part of
  ``brz send`` at most 150 ms.
"""

from __future__ import annotations

import sys

from breezy.plugins.imapclient.tests.dovecot import DovecotServer

from memory import big_bundle, load_cost, time_to_draft, whole_send_memory
from support import PASSWORD, USER, Workspace, rows
from turns import (first_send_round_trips, gmail_round_trips, revision_round_trips,
                   round_trips, series_revision_round_trips, series_round_trips,
                   tls_round_trips, whole_command)


def main() -> None:
    server = DovecotServer({USER: PASSWORD})
    server.start()
    ws = Workspace(server)
    try:
        ws.send("--mail-to=list@example.org")
        (_flags, draft), = server.messages(USER, "Drafts")[-1:]
        mbox = "From bench Mon Sep 17 00:00:00 2001\n" + draft.decode(
            "utf-8", "replace").replace("\r\n", "\n")
        print("measuring... (each figure beside its peer, same run)", file=sys.stderr)
        load_cost(ws)
        round_trips(ws, server, mbox)
        whole_command(ws, server, mbox)
        tls_round_trips(ws, server, mbox)
        gmail_round_trips(ws, server)
        first_send_round_trips(ws, server, mbox)
        revision_round_trips(ws, server)
        series_round_trips(ws, server)
        series_revision_round_trips(ws, server)
        time_to_draft(ws)
        big_bundle(ws, server)
        whole_send_memory(ws, server)
    finally:
        ws.cleanup()
        server.stop()
    width = [max(len(r[i]) for r in rows + [("what", "brz-imapclient", "peer", "verdict")])
             for i in range(4)]
    line = " | ".join("%-*s" % (w, h) for w, h in zip(
        width, ("what", "brz-imapclient", "peer", "verdict")))
    print(line)
    print("-+-".join("-" * w for w in width))
    for r in rows:
        print(" | ".join("%-*s" % (w, c) for w, c in zip(width, r)))


if __name__ == "__main__":
    main()
