"""imap_tunnel: IMAP over a command, here Dovecot's own imap binary (PREAUTH)."""

from __future__ import annotations

from . import fixtures
from .fixtures import USER


class TestTunnel(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.no_keyring(self)  # a preauthenticated tunnel needs none
        self.server = fixtures.start_dovecot(self)
        self.tunnel = "/usr/lib/dovecot/imap -c %s -u %s" % (
            self.server.config_path, USER)

    def test_send_through_the_tunnel(self):
        self.configure(imap_tunnel=self.tunnel)
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature",
                              stdin="")
        self.assertContainsString(err, 'Draft saved to "Drafts" on imap_tunnel')
        self.assertNotContainsString(err, "IMAP password")
        self.assertContainsRe(self.get_log(), r"imap S: \* PREAUTH")
        self.assertContainsRe(self.get_log(), r"imap C: \S+ APPEND")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_imap_check_through_the_tunnel(self):
        self.configure(imap_tunnel=self.tunnel)
        out, _ = self.run_bzr(["imap-check"])
        lines = out.splitlines()
        self.assertEqual("ok    config: tunnel " + self.tunnel, lines[0])
        self.assertEqual("ok    tunnel: the command answered", lines[1])
        self.assertContainsString(lines[2], "PREAUTH")
        self.assertContainsString(lines[3], 'drafts: "Drafts"')

    def test_a_tunnel_that_does_not_speak_imap(self):
        self.configure(imap_tunnel="echo not imap")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "imap_tunnel (echo not imap) did not speak IMAP",
                             "not imap")
