"""The rows that count turns and time over a 50 ms round-trip link, each
beside git imap-send."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time


from breezy.plugins.imapclient.imapclient_plugin.system_keyring import PROMPTING
from breezy.plugins.imapclient.tests.dovecot import DovecotServer
from breezy.plugins.imapclient.tests.gmail_front import GMailProfile
from breezy.plugins.imapclient.tests.imap_server import free_port
from latency_proxy import LatencyProxy

from support import (BIN, LATENCY_RUNS, ONE_WAY_DELAY, PASSWORD, USER,
                     WHOLE_COMMAND_RUNS, Workspace, all_turns, turns_until, check,
                     git_imap_send, row, tls_files)


def round_trips(ws: Workspace, server: DovecotServer, mbox: str) -> None:
    def measure(command) -> tuple[int, float, int, float]:
        """(turns, median seconds) until the APPEND's OK reaches the client,
        and for the whole connection."""
        results = []
        for _ in range(LATENCY_RUNS):
            proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
            try:
                command(proxy.port)
                proxy.wait()
                results.append(proxy.turns_until(b"APPENDUID") + all_turns(proxy))
            finally:
                proxy.close()
        return (max(r[0] for r in results), statistics.median(r[1] for r in results),
                max(r[2] for r in results), statistics.median(r[3] for r in results))

    def brz_send(port):
        ws.use_server(port)
        ws.send()

    ours = measure(brz_send)
    git = measure(lambda port: git_imap_send(ws, port, mbox))
    row("turns to the stored draft (plain, RTT %d ms)" % (ONE_WAY_DELAY * 2000),
        "%d" % ours[0], "%d git imap-send" % git[0], check(ours[0] <= 6, "target <= 6"))
    ratio = ours[1] / git[1]
    row("time from connect to the stored draft (median of %d)" % LATENCY_RUNS,
        "%.0f ms" % (ours[1] * 1000), "%.0f ms git imap-send" % (git[1] * 1000),
        check(ratio <= 0.6, "%.2fx (target <= 0.6x)" % ratio))
    ratio = ours[3] / git[3]
    row("whole connection (plain Dovecot, median of %d)" % LATENCY_RUNS,
        "%d turns, %.0f ms" % (ours[2], ours[3] * 1000),
        "%d turns, %.0f ms git imap-send" % (git[2], git[3] * 1000),
        check(ours[2] <= 5 and ratio <= 0.5,
              "%d turns (target <= 5: nothing goes behind the login before its"
              " reply), %.2fx (target <= 0.5x)" % (ours[2], ratio)))
    ws.use_server(server.port)


MESSAGE_ID = re.compile(r"^Message-ID: .*$", re.MULTILINE | re.IGNORECASE)
MASTER_PASSWORD = "bench master password"
# The backends keyring finds, a chain's in the order it asks them.
FOUND_BACKENDS = ("import keyring; found = keyring.get_keyring();"
                  " print(*('%s.%s' % (type(b).__module__, type(b).__qualname__)"
                  " for b in getattr(found, 'backends', [found])))")
# Kept through keyring's API: its command line reads all of a piped stdin
# as the password, leaving none for a master password's prompts.
SET_PASSWORD = ("import sys, keyring; keyring.set_password("
                "'127.0.0.1', %r, sys.stdin.readline().rstrip('\\n'))" % USER)


def found_keyring(ws: Workspace, env: dict[str, str]) -> tuple[str, str]:
    """(the backend keyring asks first here, what each brz run types to
    unlock it), with the password stored in it.  A backend that asks for a
    master password (keyrings.alt's encrypted file, where pycryptodome is
    installed) is given one on stdin, as a user types it."""
    found = ws.run([sys.executable, "-c", FOUND_BACKENDS], env=env,
                   stdout=subprocess.PIPE).stdout.split()
    unlock = MASTER_PASSWORD + "\n" if found[0] in PROMPTING else ""
    ws.run([sys.executable, "-c", SET_PASSWORD], env=env,
           stdin=PASSWORD + "\n" + unlock * 2)  # a new keyring asks twice
    return found[0], unlock


def whole_command(ws: Workspace, server: DovecotServer, mbox: str) -> None:
    """Issue 10: ``brz imap-send`` of one message as the user waits for it,
    from process start, with the keyring backend found as users have it
    (not pinned), beside ``git imap-send``, 25 ms each way.  Each brz run
    is paired with the git run right after it: brz's time is mostly CPU and
    git's mostly network, so a machine whose speed drifts during the run
    moves brz's figure alone, and the median of the pairs' ratios is what
    that drift blurs least."""
    env = dict(ws.env)
    del env["PYTHON_KEYRING_BACKEND"]
    backend, unlock = found_keyring(ws, env)
    path = os.path.join(ws.root, "one.eml")
    times: dict[str, list[float]] = {"brz": [], "git": []}
    port = free_port()  # one, as a user's server has: what was learnt of it holds
    try:
        for run in range(WHOLE_COMMAND_RUNS + 1):  # the first warms up (not counted)
            for command in ("brz", "git"):
                # A new Message-ID each time: stored, not found already there.
                message = MESSAGE_ID.sub("Message-ID: <whole-%d-%s@bench.invalid>"
                                         % (run, command), mbox, count=1)
                proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY, port)
                try:
                    if command == "brz":
                        ws.use_server(proxy.port)
                        ws.write(path, message.encode())
                        start = time.perf_counter()
                        ws.run([os.path.join(BIN, "brz"), "imap-send", path], env=env,
                               stdin=unlock)
                    else:
                        start = time.perf_counter()
                        git_imap_send(ws, proxy.port, message)
                    elapsed = time.perf_counter() - start
                    proxy.wait()
                finally:
                    proxy.close()
                if run:
                    times[command].append(elapsed)
            # Breezy's own start, with every plugin loaded and no work:
            # what no plugin's command can take less than, in this pair.
            start = time.perf_counter()
            ws.run([os.path.join(BIN, "brz"), "rocks"], env=env)
            if run:
                times.setdefault("rocks", []).append(time.perf_counter() - start)
    finally:
        ws.use_server(server.port)
    ours, git, rocks = (statistics.median(times[c]) for c in ("brz", "git", "rocks"))
    low, ratio, high = statistics.quantiles(
        [b / g for b, g in zip(times["brz"], times["git"])], n=4)
    row("brz imap-send of one message, whole process, keyring not pinned"
        " (%s, median of %d pairs)" % (backend.rsplit(".", 1)[-1], WHOLE_COMMAND_RUNS),
        "%.0f ms" % (ours * 1000),
        "%.0f ms git imap-send" % (git * 1000),
        check(ratio <= 1.1, "%.2fx paired, middle half %.2f-%.2f (target <= 1.1x)"
              % (ratio, low, high)))
    added = statistics.median(b - r for b, r in zip(times["brz"], times["rocks"]))
    row("brz imap-send of one message: what it adds to Breezy's start (same runs)",
        "%.0f ms" % (added * 1000), "%.0f ms brz rocks (Breezy starting, no work)"
        % (rocks * 1000), "report only: brz rocks is %.2fx git imap-send's time"
        % (rocks / git))


def tls_round_trips(ws: Workspace, plain: DovecotServer, mbox: str) -> None:
    ca_path, chain, key = tls_files(ws)
    server = DovecotServer({USER: PASSWORD}, tls_files=(chain, key))
    server.start()
    try:
        ws.set(imap_security="imaps", imap_ca_certs=ca_path)
        results = []
        for command in ("brz", "git"):
            proxy = LatencyProxy((server.host, server.imaps_port), ONE_WAY_DELAY)
            if command == "brz":
                ws.use_server(proxy.port, "imaps")
                ws.send()
            else:
                git_imap_send(ws, proxy.port, mbox, "imaps")
            proxy.wait()
            proxy.close()
            results.append(all_turns(proxy))
        (ours, ours_time), (git, git_time) = results
        row("turns, whole connection (imaps, RTT %d ms)" % (ONE_WAY_DELAY * 2000),
            "%d (%.0f ms)" % (ours, ours_time * 1000),
            "%d (%.0f ms) git imap-send" % (git, git_time * 1000), "report only")
        starttls_capabilities(ws, server)
    finally:
        server.stop()
        ws.use_server(plain.port)
        ws.set(imap_security="none", imap_ca_certs="")


def starttls_capabilities(ws: Workspace, server: DovecotServer) -> None:
    """Issue 10: with STARTTLS, CAPABILITY is asked once, over TLS (RFC
    2595), as the protocol trace (brz -Dimap) shows."""
    ws.set(imap_security="starttls")
    ws.use_server(server.port)
    log = os.path.join(ws.root, ".cache", "breezy", "brz.log")
    before = os.path.getsize(log) if os.path.exists(log) else 0
    ws.brz("-Dimap", "send", ws.trunk, cwd=ws.feature)
    with open(log, "rb") as f:
        f.seek(before)
        said = f.read().decode("utf-8", "replace")
    asked = len(re.findall(r"imap C: \S+ CAPABILITY", said))
    after_handshake = len(re.findall(r"imap C: \S+ STARTTLS(.|\n)*imap C: \S+ CAPABILITY",
                                     said))
    row("STARTTLS: CAPABILITY asked (brz -Dimap)", "%d" % asked, "-",
        check(asked == 1 and after_handshake == 1, "target: once, after the handshake"))


GMAIL_SIZES = (20 * 1000, 2 * 1000 * 1000)
GMAIL_PORT = free_port()  # one port, as imap.gmail.com:993 is


def gmail_round_trips(ws: Workspace, server: DovecotServer) -> None:
    """Issue 10: GMail's profile (imaps, TLS 1.3, LITERAL-, no capabilities
    in the greeting) 25 ms each way, a 20 KB and a 2 MB draft."""
    ca_path, chain, key = tls_files(ws)
    front = GMailProfile((server.host, server.port), chain, key)
    ws.set(imap_security="imaps", imap_ca_certs=ca_path)
    try:
        for size in GMAIL_SIZES:
            branch = ws.feature_of(size)
            results: dict[str, list] = {"brz": [], "git": []}
            mbox = None
            for run in range(LATENCY_RUNS + 1):  # the first warms up (not counted)
                for command in ("brz", "git"):
                    if command == "git" and mbox is None:
                        continue
                    proxy = LatencyProxy(("127.0.0.1", front.port), ONE_WAY_DELAY,
                                         port=GMAIL_PORT)
                    front.appended_at = None
                    try:
                        if command == "brz":
                            ws.use_server(proxy.port, "imaps")
                            ws.send(cwd=branch)
                        else:
                            git_imap_send(ws, proxy.port, mbox, "imaps")
                        proxy.wait()
                    finally:
                        proxy.close()
                    if run:
                        results[command].append(turns_until(proxy, front.appended_at)
                                                + all_turns(proxy))
                    if mbox is None:
                        _flags, draft = server.messages(USER, "Drafts")[-1]
                        mbox = "From bench Mon Sep 17 00:00:00 2001\n" + draft.decode(
                            "utf-8", "replace").replace("\r\n", "\n")
            _gmail_rows(size, len(mbox), results)
        if front.violations:
            row("GMail profile: LITERAL- respected", "NO", "-",
                check(False, "non-synchronising literals GMail refuses: %r"
                      % front.violations[:3]))
    finally:
        front.close()
        ws.use_server(server.port)
        ws.set(imap_security="none", imap_ca_certs="")


def _gmail_rows(size: int, message_size: int, results: dict) -> None:
    summary = {}
    for command, runs in results.items():
        summary[command] = (max(r[0] for r in runs), statistics.median(r[1] for r in runs),
                            max(r[2] for r in runs), statistics.median(r[3] for r in runs))
    ours, git = summary["brz"], summary["git"]
    ratio = ours[1] / git[1]
    what = "GMail profile, %s draft (%d bytes)" % (
        "%d KB" % (size // 1000) if size < 1000000 else "%d MB" % (size // 1000000),
        message_size)
    row(what + ": to the stored draft",
        "%d turns, %.0f ms" % (ours[0], ours[1] * 1000),
        "%d turns, %.0f ms git imap-send" % (git[0], git[1] * 1000),
        check(ratio <= 0.7, "%.2fx (target <= 0.7x)" % ratio))
    row(what + ": whole connection",
        "%d turns, %.0f ms" % (ours[2], ours[3] * 1000),
        "%d turns, %.0f ms git imap-send" % (git[2], git[3] * 1000),
        check(ours[2] - ours[0] <= 2, "%d turns after the stored draft (target: no"
              " round trip the user does not need)" % (ours[2] - ours[0])))


def first_send_round_trips(ws: Workspace, server: DovecotServer, mbox: str) -> None:
    """A first send, before any Drafts folder is configured or remembered:
    the folder is found by a LIST sent with the login."""
    cache = os.path.join(ws.root, ".cache", "breezy", "imapclient", "drafts-folders.json")
    ws.brz("config", "--scope", "breezy", "--remove", "imap_mailbox")
    proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
    try:
        if os.path.exists(cache):
            os.unlink(cache)
        ws.use_server(proxy.port)
        ws.send()
        proxy.wait()
    finally:
        proxy.close()
        ws.set(imap_mailbox="Drafts")
        ws.use_server(server.port)
    ours, ours_time = all_turns(proxy)
    git = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
    try:
        git_imap_send(ws, git.port, mbox)  # git needs imap.folder set
        git.wait()
    finally:
        git.close()
    theirs, theirs_time = all_turns(git)
    row("turns, whole connection: first send, folder found by LIST",
        "%d (%.0f ms)" % (ours, ours_time * 1000),
        "%d (%.0f ms) git imap-send, folder configured" % (theirs, theirs_time * 1000),
        "report only")


def revision_round_trips(ws: Workspace, server: DovecotServer) -> None:
    """The next revision of a merge request, replacing its unsent draft,
    costs at most two exchanges (four turns) over a first send."""
    ws.set(imap_revisions="True")
    results, counts = [], []
    try:
        for change in (b"first\n", b"second\n"):
            ws.write(ws.feature + "/hello.txt", b"hello\n" + change)
            ws.brz("commit", "-q", "-m", "Round %s" % change.decode().strip(),
                   cwd=ws.feature)
            proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
            try:
                ws.use_server(proxy.port)
                ws.send()
                proxy.wait()
            finally:
                proxy.close()
            results.append(all_turns(proxy))
            counts.append(len(server.messages(USER, "Drafts")))
    finally:
        ws.set(imap_revisions="False")
        ws.use_server(server.port)
    (first, first_time), (replacing, replacing_time) = results
    replaced = counts[0] == counts[1]
    row("turns, whole connection: next revision (replaces the unsent draft)",
        "%d (%.0f ms)" % (replacing, replacing_time * 1000),
        "%d (%.0f ms) first send" % (first, first_time * 1000),
        check(replaced and replacing - first <= 4,
              "+%d turns (target <= 4: two exchanges)%s" % (
                  replacing - first, "" if replaced else ", but NOT replaced")))


SERIES_LENGTH = 10


def series_mbox(run: int) -> str:
    """A git format-patch --stdout series, different in each run (so that
    brz imap-send, which skips what is there, stores it all each time)."""
    return "".join(
        "From %040d Mon Sep 17 00:00:00 2001\nFrom: Bench <bench@example.com>\n"
        "Date: Tue, 24 Nov 2026 09:00:%02d +0000\n"
        "Subject: [PATCH %d/%d] Change %d of run %d\n\n---\n f | 2 +-\n%s\n"
        % (n, n, n, SERIES_LENGTH, n, run, "+line\n" * 40)
        for n in range(1, SERIES_LENGTH + 1))


def series_round_trips(ws: Workspace, server: DovecotServer) -> None:
    """Issue 10: a series costs turns constant in its length."""
    mbox_path = os.path.join(ws.root, "series.mbox")
    results = {"brz": [], "git": []}
    try:
        for run in range(LATENCY_RUNS):
            for command in ("brz", "git"):
                mbox = series_mbox(run * 2 + (command == "git"))
                proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
                try:
                    if command == "brz":
                        ws.use_server(proxy.port)
                        ws.write(mbox_path, mbox.encode())
                        ws.brz("imap-send", mbox_path)
                    else:
                        git_imap_send(ws, proxy.port, mbox)
                    proxy.wait()
                finally:
                    proxy.close()
                results[command].append(all_turns(proxy))
    finally:
        ws.use_server(server.port)
    ours = max(t for t, _ in results["brz"]), statistics.median(s for _, s in results["brz"])
    git = max(t for t, _ in results["git"]), statistics.median(s for _, s in results["git"])
    ratio = ours[1] / git[1]
    row("imap-send of a %d-patch mbox, whole connection (median of %d)"
        % (SERIES_LENGTH, LATENCY_RUNS),
        "%d turns, %.0f ms" % (ours[0], ours[1] * 1000),
        "%d turns, %.0f ms git imap-send" % (git[0], git[1] * 1000),
        check(ratio <= 0.3, "%.2fx (target <= 0.3x)" % ratio))


def series_revision_round_trips(ws: Workspace, server: DovecotServer) -> None:
    """Issue 29: the next revision of a git series (brz send --format=git,
    replacing the unsent one) costs the same turns for 2 patches as for 12."""
    ws.set(imap_revisions="True")
    turns = {}
    try:
        for length in (2, 12):
            trunk, feature = _git_branches(ws, "series-%d" % length, length)
            ws.brz("send", "--format=git", "--mail-to=list@example.org", trunk, cwd=feature)
            _git_commit(ws, feature, "one more.txt", "One more")
            proxy = LatencyProxy((server.host, server.port), ONE_WAY_DELAY)
            try:
                ws.use_server(proxy.port)
                ws.brz("send", "--format=git", "--mail-to=list@example.org", trunk,
                       cwd=feature)
                proxy.wait()
            finally:
                proxy.close()
                ws.use_server(server.port)
            turns[length] = all_turns(proxy)
    finally:
        ws.set(imap_revisions="False")
    (short, short_time), (long, long_time) = turns[2], turns[12]
    row("turns, whole connection: revision of a git series (replaces it), 2 | 12 patches",
        "%d (%.0f ms) | %d (%.0f ms)" % (short, short_time * 1000, long, long_time * 1000),
        "(no peer replaces a series)", check(short == long, "target: equal"))


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
                "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def _git_branches(ws: Workspace, name: str, commits: int) -> tuple[str, str]:
    """A git trunk and its clone with ``commits`` commits of its own."""
    trunk, feature = os.path.join(ws.root, name + "-trunk"), os.path.join(ws.root, name)
    os.mkdir(trunk)
    ws.run(["git", "init", "-q"], cwd=trunk)
    _git_commit(ws, trunk, "base.txt", "Base")
    ws.run(["git", "clone", "-q", trunk, feature])
    for number in range(commits):
        _git_commit(ws, feature, "file%02d.txt" % number, "Change %d" % number)
    return trunk, feature


def _git_commit(ws: Workspace, branch: str, path: str, message: str) -> None:
    ws.write(os.path.join(branch, path), ("%s\n" % message).encode() * 20)
    env = dict(ws.env, **GIT_IDENTITY)
    ws.run(["git", "add", "-A"], cwd=branch, env=env)
    ws.run(["git", "commit", "-q", "-m", message], cwd=branch, env=env)
