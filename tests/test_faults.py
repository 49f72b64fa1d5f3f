"""Faults around the APPEND, injected by a proxy in front of a real Dovecot.

The promise: exactly one draft, or a clear error with the message kept.
"""

from __future__ import annotations

from . import fixtures
from .fixtures import PASSWORD, USER
from .proxy import (ByeOnAppend, CutBeforeReply, CutInsideLiteral, Faults,
                    RefuseAppend, RewritingProxy)


def first_connection(faults_class, *args):
    """The fault strikes the first connection only; reconnecting works."""
    return lambda n: faults_class(*args) if n == 0 else Faults()


def every_connection(faults_class, *args):
    return lambda n: faults_class(*args)


class TestFaultsAroundAppend(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)

    def through_proxy(self, faults) -> RewritingProxy:
        proxy = RewritingProxy((self.server.host, self.server.port), faults=faults)
        self.addCleanup(proxy.close)
        self.configure(self.server,
                       imap_server="imap://127.0.0.1:%d" % proxy.port)
        return proxy

    def drafts(self):
        return self.server.messages(USER, "Drafts")

    def test_lost_reply_after_the_draft_arrived_stores_one_draft(self):
        proxy = self.through_proxy(first_connection(CutBeforeReply))
        _, err = self.send()
        self.assertContainsString(err, "Reconnecting to check whether the draft")
        self.assertContainsString(err, "The draft was already there.")
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 1\)')
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(2, proxy.connections)

    def test_cut_inside_the_upload_is_retried_once(self):
        proxy = self.through_proxy(first_connection(CutInsideLiteral))
        _, err = self.send()
        self.assertContainsString(err, "Reconnecting to check whether the draft")
        self.assertNotContainsString(err, "already there")
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(2, proxy.connections)

    def test_connection_that_keeps_dropping_keeps_the_message(self):
        proxy = self.through_proxy(every_connection(CutInsideLiteral))
        _, err = self.send(retcode=3)
        error_line = [line for line in err.splitlines() if "brz: ERROR" in line]
        self.assertEqual(1, len(error_line))
        self.assertContainsString(
            error_line[0], "The connection to the IMAP server 127.0.0.1 was lost")
        self.kept_message_path(err)
        self.assertEqual([], self.drafts())
        self.assertEqual(2, proxy.connections)  # one retry, not a loop

    def test_server_bye(self):
        self.through_proxy(every_connection(ByeOnAppend))
        _, err = self.send(retcode=3)
        self.assertContainsString(err, "Server shutting down")
        self.kept_message_path(err)
        self.assertEqual([], self.drafts())

    def assertRefused(self, reply: bytes, *needles: str) -> None:
        proxy = self.through_proxy(every_connection(RefuseAppend, reply))
        _, err = self.send(retcode=3)
        self.assertNotStored(err, *needles)
        self.assertEqual(1, proxy.connections)  # a refusal is not retried
        self.assertEqual([], self.drafts())

    def test_over_quota(self):
        self.assertRefused(b"NO [OVERQUOTA] Quota exceeded (mailbox is full)",
                           'refused storing the draft in "Drafts"', "OVERQUOTA")

    def test_too_big(self):
        self.assertRefused(b"NO [TOOBIG] Message too large", "[TOOBIG]")

    def test_bad(self):
        self.assertRefused(b"BAD Error in IMAP command APPEND", "BAD",
                           'refused storing the draft in "Drafts"')

    def test_trycreate(self):
        self.assertRefused(b"NO [TRYCREATE] Mailbox doesn't exist: Drafts",
                           'refused the folder "Drafts"', "TRYCREATE")
