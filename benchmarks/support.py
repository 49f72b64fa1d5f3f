"""What every benchmark row uses: a workspace (a HOME with Breezy's
config, a file keyring, two branches), the table, git imap-send, turn
counting through the latency proxy, peak RSS through a small launcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

import trustme

from breezy.plugins.imapclient.tests.dovecot import DovecotServer
from latency_proxy import LatencyProxy

USER, PASSWORD = "bench", "bench password"
BIN = os.path.dirname(sys.executable)
ONE_WAY_DELAY = 0.025
LOAD_RUNS = 31
DRAFT_RUNS = 9
LATENCY_RUNS = 5
WHOLE_COMMAND_RUNS = 15  # paired runs; each pair takes about 0.6 s
BIG_BYTES = 50 * 1000 * 1000
rows: list[tuple[str, str, str, str]] = []


def row(name: str, ours: str, peer: str, verdict: str) -> None:
    rows.append((name, ours, peer, verdict))
    print("  %s: %s | %s | %s" % (name, ours, peer, verdict), file=sys.stderr)


def check(ok: bool, target: str) -> str:
    return ("ok, " if ok else "MISSED, ") + target


class Workspace:
    """A HOME with Breezy's config, a file keyring and two branches."""

    def __init__(self, server: DovecotServer) -> None:
        self.root = tempfile.mkdtemp(prefix="brz-imapclient-bench-")
        self.env = dict(
            os.environ, HOME=self.root, XDG_CONFIG_HOME=self.root + "/.config",
            XDG_CACHE_HOME=self.root + "/.cache", XDG_DATA_HOME=self.root + "/.data",
            BRZ_EMAIL="Bench <bench@example.com>",
            PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring")
        for name in ("BRZ_HOME", "BRZ_PLUGINS_AT", "BRZ_DISABLE_PLUGINS", "BRZ_LOG"):
            self.env.pop(name, None)
        self.trunk, self.feature = self.root + "/trunk", self.root + "/feature"
        self.brz("init", "-q", self.trunk)
        self.write(self.trunk + "/hello.txt", b"hello\n")
        self.brz("add", "-q", "hello.txt", cwd=self.trunk)
        self.brz("commit", "-q", "-m", "Initial import", cwd=self.trunk)
        self.brz("branch", "-q", self.trunk, self.feature)
        self.write(self.feature + "/hello.txt", b"hello\nworld\n" * 200)
        self.brz("commit", "-q", "-m", "Greet the world", cwd=self.feature)
        # The other rows measure one send as such; revisions have their own.
        self.set(mail_client="imapclient", imap_security="none",
                 imap_username=USER, imap_mailbox="Drafts", imap_revisions="False")
        self.use_server(server.port)
        self.run([os.path.join(BIN, "keyring"), "set", "127.0.0.1", USER],
                 stdin=PASSWORD + "\n")

    @staticmethod
    def write(path: str, data: bytes) -> None:
        with open(path, "wb") as f:
            f.write(data)

    def run(self, argv, cwd=None, stdin=None, stdout=subprocess.DEVNULL, env=None):
        """Run ``argv`` with no terminal (a new session), so that a keyring
        asking for its master password reads ``stdin`` as well."""
        done = subprocess.run(argv, cwd=cwd or self.root, env=env or self.env,
                              input=stdin, text=True, stdout=stdout,
                              stderr=subprocess.PIPE, start_new_session=True)
        if done.returncode:
            sys.exit("%s failed:\n%s" % (argv[:3], done.stderr[-2000:]))
        return done

    def brz(self, *args, cwd=None, env=None):
        return self.run([os.path.join(BIN, "brz")] + list(args), cwd=cwd, env=env)

    def set(self, **options: str) -> None:
        for name, value in options.items():
            self.brz("config", "--scope", "breezy", "%s=%s" % (name, value))

    def use_server(self, port: int, scheme: str = "imap") -> None:
        self.set(imap_server="%s://127.0.0.1:%d" % (scheme, port))

    def send(self, *extra: str, cwd: Optional[str] = None) -> float:
        start = time.perf_counter()
        self.brz("send", *extra, self.trunk, cwd=cwd or self.feature)
        return time.perf_counter() - start

    def feature_of(self, size: int) -> str:
        """A branch whose bundle is about ``size`` bytes (random content)."""
        path = "%s/feature-%d" % (self.root, size)
        self.brz("branch", "-q", self.trunk, path)
        # The bundle and the message each base64 it (about 1.85x in all);
        # the rest of the message is ~2.5 KB.  A NUL first: Breezy's diff
        # takes it for binary (else, now and then, the patch shows it).
        self.write(path + "/blob.bin",
                   b"\0" + os.urandom(max(1, (size - 2500) * 100 // 185)))
        self.brz("add", "-q", "blob.bin", cwd=path)
        self.brz("commit", "-q", "-m", "Add a blob", cwd=path)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def all_turns(proxy: LatencyProxy) -> tuple[int, float]:
    turns, last, end = 0, None, proxy.accepted_at
    for arrival, name, _data in sorted(proxy.events, key=lambda e: e[0]):
        if name != last:
            turns, last = turns + 1, name
        end = arrival + proxy.delay
    return turns, end - proxy.accepted_at


def tls_files(ws: Workspace) -> tuple[str, str, str]:
    """(CA, certificate chain, key) PEM files for 127.0.0.1."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_path, chain, key = (os.path.join(ws.root, n) for n in ("ca.pem", "c.pem", "k.pem"))
    ca.cert_pem.write_to_path(ca_path)
    with open(chain, "wb") as f:
        f.write(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(key)
    return ca_path, chain, key


def git_imap_send(ws: Workspace, port: int, mbox: str, scheme: str = "imap") -> None:
    ws.run(["git", "-c", "imap.host=%s://127.0.0.1" % scheme,
            "-c", "imap.port=%d" % port, "-c", "imap.folder=Drafts",
            "-c", "imap.user=" + USER, "-c", "imap.pass=" + PASSWORD,
            "-c", "imap.sslverify=false", "imap-send"], stdin=mbox)


def turns_until(proxy: LatencyProxy, at: Optional[float]) -> tuple[int, float]:
    """(turns, seconds) from connecting until the server's chunk that left
    the GMail front at ``at`` reached the client."""
    if at is None:
        raise ValueError("the APPEND's OK never passed")
    turns, last = 0, None
    for arrival, name, _data in sorted(proxy.events, key=lambda e: e[0]):
        if arrival > at + 0.005:  # the next turn is a round trip away
            break
        if name != last:
            turns, last = turns + 1, name
    return turns, at + proxy.delay - proxy.accepted_at


# Linux carries a process's peak RSS across fork and exec: a command
# started from this (big) process would report at least this one's size.
# So a small launcher starts it, and reports its peak.
LAUNCHER = r"""
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_pid, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%f %d" % (time.perf_counter() - start, usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(ws: Workspace, argv: list[str], cwd: str) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of one command."""
    report = os.path.join(ws.root, "measured.txt")
    done = subprocess.run([sys.executable, "-c", LAUNCHER, report] + argv, cwd=cwd,
                          env=ws.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode:
        sys.exit("%s failed:\n%s" % (argv[:3], done.stderr[-2000:].decode("utf-8", "replace")))
    with open(report) as f:
        seconds, peak = f.read().split()
    return float(seconds), int(peak)
