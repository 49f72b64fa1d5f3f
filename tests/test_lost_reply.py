"""After a lost reply brz looks again, and removes an extra copy only if
it is byte for byte what brz uploaded: a user's edit that kept the
Message-ID (Roundcube's, say) survives, however the lost reply fell."""

from __future__ import annotations

from ..imapclient_plugin import git_series
from .fixtures import USER
from .proxy import CutBeforeReply
from .test_faults import ProxiedDovecotTestCase, first_connection

ONE = (b"From: Ann <ann@example.com>\r\nSubject: [PATCH 1/2] One\r\n"
       b"Message-ID: <one@example.com>\r\n\r\nThe first patch.\r\n")
TWO = (b"From: Ann <ann@example.com>\r\nSubject: [PATCH 2/2] Two\r\n"
       b"Message-ID: <two@example.com>\r\n\r\nThe second patch.\r\n")
ONE_EDITED = ONE.replace(b"The first patch.", b"The first patch, with my note.")


class TestAUsersEditSurvivesALostReply(ProxiedDovecotTestCase):

    def test_imap_send_of_a_series_keeps_the_edited_copy(self):
        # As a mail program saves an edit: a new message with the same
        # Message-ID, the old one flagged \Deleted (not yet expunged).
        with self.server.client(USER) as client:
            client.append("Drafts", ONE, flags=[b"\\Draft", b"\\Deleted"])
            client.append("Drafts", ONE_EDITED, flags=[b"\\Draft"])
        with open("series.mbox", "wb") as f:
            f.write(git_series.as_mbox([ONE, TWO]))
        proxy = self.through_proxy(first_connection(CutBeforeReply))
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertContainsString(err, "Reconnecting to check which drafts arrived.")
        self.assertContainsRe(err, r'Left UID (1, )?2 in "Drafts" alone: .* the'
                              r" draft's Message-ID but not what brz stored")
        texts = sorted(raw.split(b"\r\n\r\n", 1)[1].rstrip() for _flags, raw in self.drafts())
        self.assertEqual([b"The first patch, with my note.", b"The first patch.",
                          b"The second patch."], texts)
        self.assertEqual(2, proxy.connections)
