"""Nothing is lost: a full disk leaves no truncated message, and SIGTERM or
SIGHUP during the upload keeps the message, as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from breezy import bedding, tests

from . import fixtures
from .fixtures import PASSWORD, parse
from .proxy import Faults
from .server_behaviours import SlowAppendReply
from .test_faults import ProxiedDovecotTestCase
from .test_secret_service import plugin_root


class TestFullDisk(fixtures.SendTestCase):
    """A real full file system: a small tmpfs, mounted by the test."""

    def mount_full_tmpfs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        if os.geteuid() != 0:
            raise tests.TestNotApplicable("mounting a tmpfs needs root")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k",
                                  "tmpfs", path], capture_output=True, text=True)
        if mounted.returncode != 0:
            if os.environ.get("CI") == "true":
                self.fail("cannot mount a tmpfs: %s" % mounted.stderr)
            raise tests.TestNotApplicable("cannot mount a tmpfs: " + mounted.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", path])
        with open(os.path.join(path, "filler"), "wb") as f:
            try:
                f.write(b"x" * (60 << 10))
            except OSError:
                pass

    def unsent_files(self) -> list:
        unsent = os.path.join(bedding.cache_dir(), "imapclient", "unsent")
        return os.listdir(unsent) if os.path.isdir(unsent) else []

    def test_full_cache_keeps_it_whole_in_the_temporary_folder(self):
        self.commit_big_file(100000)
        self.mount_full_tmpfs(os.path.join(bedding.cache_dir(), "imapclient"))
        self.overrideAttr(tempfile, "tempdir", os.path.abspath("tmp"))
        os.mkdir("tmp")
        self.configure()  # no server: the send fails
        _, err = self.send(retcode=3)
        self.assertContainsString(err, "No space left on device")
        path = self.kept_message_path(err)
        self.assertStartsWith(path, os.path.abspath("tmp"))
        with open(path, "rb") as f:
            self.assertEqual("[MERGE] Add a big file", parse(f.read())["Subject"])
        self.assertEqual([], self.unsent_files())  # no truncated copy

    def test_nowhere_to_keep_it_says_so(self):
        self.commit_big_file(100000)
        self.mount_full_tmpfs(os.path.join(bedding.cache_dir(), "imapclient"))
        self.mount_full_tmpfs(os.path.abspath("tmp"))
        self.overrideAttr(tempfile, "tempdir", os.path.abspath("tmp"))
        self.configure()
        _, err = self.send(retcode=3)
        (error,) = [line for line in err.splitlines() if "ERROR" in line]
        self.assertContainsString(error, "No IMAP server is configured")
        self.assertContainsString(error, "could not be kept either (No space left"
                                  " on device), so nothing was saved")
        self.assertEqual([], self.unsent_files())
        self.assertEqual(["filler"], os.listdir("tmp"))


class TestSignals(ProxiedDovecotTestCase):
    """A real brz process, stopped while the server sits on its APPEND."""

    def stop_during_upload(self, signum: int) -> str:
        faults = SlowAppendReply(5)
        self.through_proxy(lambda n: faults,
                           imap_password_command="echo '%s'" % PASSWORD)
        env = dict(os.environ, BRZ_PLUGINS_AT="imapclient@" + plugin_root())
        process = subprocess.Popen(
            [sys.executable, "-m", "breezy", "send", "../trunk"], cwd="feature",
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while faults.append_tag is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIsNotNone(faults.append_tag, "brz never sent its APPEND")
        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
        self.assertEqual(3, process.returncode, output)
        return output.decode("utf-8", "replace")

    def assertKept(self, output: str, name: str) -> None:
        self.assertContainsString(output, "brz was stopped by %s" % name)
        self.assertNotContainsString(output, "Traceback")
        path = self.kept_message_path(output)
        with open(path, "rb") as f:
            self.assertEqual("[MERGE] Say hello to the world",
                             parse(f.read())["Subject"])

    def test_sigterm_keeps_the_message(self):
        self.assertKept(self.stop_during_upload(signal.SIGTERM), "SIGTERM")

    def test_sigterm_at_the_password_prompt_says_nothing_was_sent(self):
        self.through_proxy(lambda n: Faults())
        env = dict(os.environ, BRZ_PLUGINS_AT="imapclient@" + plugin_root(),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
        process = subprocess.Popen(
            [sys.executable, "-m", "breezy", "send", "../trunk"], cwd="feature",
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.addCleanup(process.kill)
        said = b""
        deadline = time.monotonic() + 30
        while b"IMAP password for" not in said and time.monotonic() < deadline:
            said += process.stdout.read1(4096)
        self.assertIn(b"IMAP password for", said)
        process.send_signal(signal.SIGTERM)
        output = (said + process.communicate(timeout=30)[0]).decode("utf-8", "replace")
        self.assertEqual(3, process.returncode, output)
        self.assertContainsString(output, "brz was stopped by SIGTERM while it asked for"
                                  " the IMAP password: nothing was sent to the server.")
        self.assertNotContainsString(output, "may or may not")
        self.assertKept(output, "SIGTERM")
        self.assertEqual([], self.drafts())

    def test_sighup_keeps_the_message(self):
        self.assertKept(self.stop_during_upload(signal.SIGHUP), "SIGHUP")
