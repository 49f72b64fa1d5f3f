"""On GMail (X-GM-EXT-1) brz send prints, and can open, the draft's web link.

GMail itself cannot be reached here: a proxy in front of Dovecot announces
the extension (hoodiecrow, in test_send, is the real server with it); the
browser is a stand-in.  The link searches for the draft's Message-ID, so it
costs no round trip after the APPEND.
"""

from __future__ import annotations

import webbrowser

from breezy import tests

from . import fixtures
from .fixtures import PASSWORD, USER
from .fixtures import parse
from .gmail_front import GMailProfile
from .proxy import RewritingProxy
from .server_behaviours import CountCommands
from .test_settings import settings_from
from ..imapclient_plugin.wire import mailbox

LINK = "https://mail.google.com/mail/?authuser=alice#search/rfc822msgid%%3A%s"


class TestGMailLink(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.server = fixtures.start_dovecot(self)
        self.gmail = CountCommands(lambda line: line.replace(
            b" IMAP4rev1 ", b" IMAP4rev1 X-GM-EXT-1 "))
        proxy = RewritingProxy((self.server.host, self.server.port),
                               faults=lambda n: self.gmail)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        self.opened: list[str] = []
        self.overrideAttr(webbrowser, "open", self.opened.append)

    def link(self) -> str:
        ((_flags, raw),) = self.server.messages(USER, "Drafts")
        return LINK % parse(raw)["Message-ID"].strip("<>")

    def test_link_is_printed(self):
        _, err = self.send()
        self.assertContainsString(err, "Open it: " + self.link())
        # Nothing after the APPEND but LOGOUT.
        self.assertEqual([b"APPEND", b"LOGOUT"], self.gmail.commands[-2:])
        self.assertEqual([], self.opened)

    def test_link_is_opened_when_asked(self):
        self.configure(imap_open_draft="True")
        self.send()
        self.assertEqual([self.link()], self.opened)

    def test_no_link_elsewhere(self):
        self.configure(self.server)  # Dovecot itself: no X-GM-EXT-1
        _, err = self.send()
        self.assertNotContainsString(err, "Open it")


class TestGMailOverTLS(fixtures.SendTestCase):
    """A front that makes Dovecot look like GMail: imaps (TLS 1.3), a
    greeting without capabilities, LITERAL- after login only."""

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.server = fixtures.start_dovecot(self)
        ca = fixtures.TestCA(self)
        self.front = GMailProfile((self.server.host, self.server.port),
                                  *ca.server_files(), hold_greeting=1.0)
        self.addCleanup(self.front.close)
        self.configure(imap_server="imaps://127.0.0.1:%d" % self.front.port,
                       imap_username=USER, imap_ca_certs=ca.path, imap_mailbox="Drafts",
                       imap_revisions="False")

    def test_login_goes_with_the_handshakes_last_turn(self):
        self.send()  # learns the capabilities
        _, err = self.send()
        self.assertContainsString(err, "Open it: ")
        # The login and the APPEND went before the greeting, the draft only
        # once asked for (nothing GMail would refuse).
        self.assertEqual([False, True], self.front.spoke_first)
        self.assertEqual([], self.front.violations)
        self.assertEqual(2, len(self.server.messages(USER, "Drafts")))


class GMailCapabilities(mailbox.Connection):
    """GMail's capabilities, for what cannot be made real here: its limits."""

    def __init__(self):
        super().__init__(None, settings_from("imap_server = imaps://imap.gmail.com\n"),
                         None, "")

    def capabilities(self):
        return (b"IMAP4REV1", b"X-GM-EXT-1", b"APPENDLIMIT=35651584")


class TestGMailLimit(tests.TestCase):

    def test_gmail_stores_but_does_not_send_over_25_mb(self):
        from ..imapclient_plugin import errors

        GMailCapabilities().check_append_limit(25_000_000)
        e = self.assertRaises(errors.DraftTooBig,
                              GMailCapabilities().check_append_limit, 25_000_001)
        self.assertContainsString(str(e), "GMail sends no bigger message")
