"""On GMail (X-GM-EXT-1) brz send prints, and can open, the draft's web link.

GMail itself cannot be reached here: a proxy in front of Dovecot announces
the extension and answers the X-GM-MSGID fetch; the browser is a stand-in.
"""

from __future__ import annotations

import webbrowser

from . import fixtures
from .fixtures import PASSWORD, USER
from .proxy import GMAIL_MESSAGE_ID, GMailExtension, RewritingProxy

LINK = "https://mail.google.com/mail/?authuser=alice#all/%x" % GMAIL_MESSAGE_ID


class TestGMailLink(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)
        self.server = fixtures.start_dovecot(self)
        self.gmail = GMailExtension()
        proxy = RewritingProxy((self.server.host, self.server.port),
                               faults=lambda n: self.gmail)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        self.opened: list[str] = []
        self.overrideAttr(webbrowser, "open", self.opened.append)

    def test_link_is_printed(self):
        _, err = self.send()
        self.assertContainsString(err, "Open it: " + LINK)
        self.assertEqual([1], self.gmail.fetched)  # the UID from APPENDUID
        self.assertEqual([], self.opened)

    def test_link_is_opened_when_asked(self):
        self.configure(imap_open_draft="True")
        self.send()
        self.assertEqual([LINK], self.opened)

    def test_no_link_elsewhere(self):
        self.configure(self.server)  # Dovecot itself: no X-GM-EXT-1
        _, err = self.send()
        self.assertNotContainsString(err, "Open it")
