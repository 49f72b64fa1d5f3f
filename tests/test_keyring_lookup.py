"""The keyring is prepared in a forked child where that is safe, and the
child answers the one lookup; whatever goes wrong with it, the lookup is
made in this process instead."""

from __future__ import annotations

import os
import signal
import threading

from keyring.errors import KeyringLocked

from breezy import tests

from ..imapclient_plugin import keyring_lookup
from . import fixtures
from .fixtures import PASSWORD, USER

HOST = "imap.example.org"


class TestKeyringLookup(tests.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(keyring_lookup.finish)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            HOST, USER, PASSWORD)

    def child(self) -> int:
        """Prefetch in a child; its pid."""
        if not keyring_lookup.can_fork():
            raise tests.TestNotApplicable("this process has threads: no fork")
        keyring_lookup.prefetch(in_child=True)
        prefetched = keyring_lookup._prefetched
        self.assertIsInstance(prefetched, keyring_lookup._Child)
        return prefetched._pid

    def assertReaped(self, pid: int) -> None:
        self.assertRaises(ChildProcessError, os.waitpid, pid, os.WNOHANG)

    def test_the_child_answers(self):
        pid = self.child()
        # This process's keyring now has nothing: the answer is the child's.
        fixtures.use_keyring(self, fixtures.MemoryKeyring())
        self.assertEqual((PASSWORD, keyring_lookup.NO_PASSWORD),
                         keyring_lookup.look_up(HOST, USER))
        self.assertReaped(pid)
        self.assertIsNone(keyring_lookup._prefetched)
        # Once: the next lookup is this process's own.
        self.assertEqual((None, keyring_lookup.NO_PASSWORD),
                         keyring_lookup.look_up(HOST, USER))

    def test_the_child_says_what_the_keyring_said(self):
        fixtures.use_keyring(self, fixtures.FailingKeyring(KeyringLocked()))
        self.child()
        self.assertEqual((None, "the keyring is locked (unlock it, then send again)"),
                         keyring_lookup.look_up(HOST, USER))
        fixtures.use_keyring(self, fixtures.FailingKeyring(OSError("D-Bus said no")))
        self.child()
        self.assertEqual((None, "the keyring failed (OSError: D-Bus said no)"),
                         keyring_lookup.look_up(HOST, USER))
        self.assertContainsString(self.get_log(), "The keyring failed (OSError:"
                                  " D-Bus said no); trying the other password sources.")

    def test_a_dead_child_leaves_the_lookup_here(self):
        pid = self.child()
        os.kill(pid, signal.SIGKILL)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            HOST, USER, "this process's")
        self.assertEqual(("this process's", keyring_lookup.NO_PASSWORD),
                         keyring_lookup.look_up(HOST, USER))
        self.assertReaped(pid)

    def test_an_unused_child_ends(self):
        pid = self.child()
        keyring_lookup.finish()
        self.assertReaped(pid)
        self.assertIsNone(keyring_lookup._prefetched)

    def test_a_stuck_child_does_not_hold_the_command(self):
        """Interrupted while a backend hangs in the child, the command ends."""
        release = threading.Event()

        class Hanging(fixtures.MemoryKeyring):
            def get_password(self, service, username):
                release.wait()  # never set in the child: it hangs

        fixtures.use_keyring(self, Hanging())
        pid = self.child()
        prefetched = keyring_lookup._prefetched

        def interrupt(signum, frame):
            raise KeyboardInterrupt()
        previous = signal.signal(signal.SIGALRM, interrupt)
        self.addCleanup(signal.signal, signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        self.assertRaises(KeyboardInterrupt, prefetched.look_up, HOST, USER)
        self.assertReaped(pid)

    def test_a_process_with_threads_imports_in_a_thread(self):
        release = threading.Event()
        other = threading.Thread(target=release.wait)
        other.start()
        self.addCleanup(other.join)
        self.addCleanup(release.set)
        self.assertFalse(keyring_lookup.can_fork())
        keyring_lookup.prefetch(in_child=True)
        self.assertIsInstance(keyring_lookup._prefetched, keyring_lookup._Thread)
        self.assertEqual((PASSWORD, keyring_lookup.NO_PASSWORD),
                         keyring_lookup.look_up(HOST, USER))

    def test_without_in_child_no_fork(self):
        keyring_lookup.prefetch()
        self.assertIsInstance(keyring_lookup._prefetched, keyring_lookup._Thread)
