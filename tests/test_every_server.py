"""One user's day, end to end, on every real IMAP server here: Dovecot,
Cyrus IMAP (Fastmail's server), Courier-IMAP with and without gamin,
GNU Mailutils' imap4d, and hoodiecrow laid out as GMail.

``imap-check`` and ``imap-folders``; a first ``brz send``; a second, which
replaces the unsent draft; the draft sent (moved to the sent folder, as a
mail program does), then a third send, which threads under it as v2;
``brz imap-send`` of a series, twice (stored once).  What each server
stores is read back with imaplib, as a mail program would see it.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import shutil
import subprocess
from typing import Iterator

from imapclient import response_parser

from breezy import tests
from breezy.workingtree import WorkingTree

from . import fixtures
from .courier_server import BuiltWithoutGamin, CourierTunnel
from .fixtures import PASSWORD, USER, parse
from .imap_server import ServerUnavailable
from .test_git_series import needs_breezy_git
from .test_imap_send import series


class Scenario:
    """Mixed into a SendTestCase for each server: it says how to reach the
    server (``set_up_server``, which configures brz) and where its folders
    are."""

    drafts_folder = "Drafts"
    sent_folder = "Sent"

    def setUp(self):
        super().setUp()
        self.keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())
        self.set_up_server()

    def set_up_server(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def mail_program(self) -> Iterator[imaplib.IMAP4]:
        """A logged-in imaplib connection: the user's mail program."""
        raise NotImplementedError

    def messages(self, folder: str) -> list:
        """(flags, parsed message) of each message in ``folder``, not flagged
        \\Deleted (GNU Mailutils' way of removing one)."""
        with self.mail_program() as imap:
            kind, _ = imap.select(_name(folder), readonly=True)
            if kind != "OK":
                return []
            kind, data = imap.uid("FETCH", "1:*", "(FLAGS RFC822)")
            fetched = response_parser.parse_fetch_response(
                [d for d in data if d is not None], True, True) if kind == "OK" else {}
        return [(item[b"FLAGS"], parse(item[b"RFC822"]))
                for _uid, item in sorted(fetched.items())
                if b"\\Deleted" not in item[b"FLAGS"]]

    def send_it(self, tag: str = "[MERGE") -> None:
        """The user sends the merge request's drafts from the mail program:
        they move to the sent folder (GMail: All Mail), same Message-ID."""
        with self.mail_program() as imap:
            imap.select(_name(self.drafts_folder))
            _, (found,) = imap.uid("SEARCH", None, "SUBJECT", '"%s"' % tag)
            uids = b",".join(found.split()).decode()
            self.assertEqual("OK", imap.uid("COPY", uids, _name(self.sent_folder))[0])
            imap.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
            imap.expunge()

    def commit(self, message: str) -> None:
        tree = WorkingTree.open("feature")
        with open("feature/hello.txt", "ab") as f:
            f.write(message.encode() + b"\n")
        tree.commit(message)

    def merge_drafts(self) -> list:
        return [m for flags, m in self.messages(self.drafts_folder)
                if m["Subject"].startswith("[MERGE") and b"\\Draft" in flags]

    def test_a_users_day(self):
        out, _ = self.run_bzr(["imap-check"])
        self.assertContainsRe(out, r"(?m)^ok    login: ")
        self.assertContainsRe(out, r"(?m)^ok    drafts: ")

        _, err = self.send()
        self.assertContainsString(err, 'Draft saved to "%s"' % self.drafts_folder)
        out, _ = self.run_bzr(["imap-folders"])
        self.assertContainsString(out, "* %s" % self.drafts_folder)
        (v1,) = self.merge_drafts()

        self.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, "the earlier unsent draft of this merge request")
        (v1,) = self.merge_drafts()  # replaced
        self.assertEqual("[MERGE] Address review", v1["Subject"])

        self.send_it()
        self.commit("Second round")
        _, err = self.send()
        self.assertContainsString(err, "Draft saved as v2, a reply to")
        (v2,) = self.merge_drafts()
        self.assertEqual("[MERGE v2] Second round", v2["Subject"])
        self.assertEqual(v1["Message-ID"], v2["In-Reply-To"])

        self.build_tree_contents([("series.mbox", series(3))])
        self.run_bzr(["imap-send", "series.mbox"])
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(3, err.count('Already in "%s"' % self.drafts_folder))
        patches = sorted(m["Subject"] for flags, m in self.messages(self.drafts_folder)
                         if m["Subject"].startswith("[PATCH") and b"\\Draft" in flags)
        self.assertEqual(["[PATCH %d/3] Change %d" % (n, n) for n in (1, 2, 3)], patches)

    def test_a_git_series_day(self):
        """brz send --format=git: stored, replaced by the next send, sent,
        then followed as v2 in reply to the cover letter sent."""
        needs_breezy_git()
        trunk = self.make_branch_and_tree("gtrunk", format="git")
        self.build_tree_contents([("gtrunk/a.txt", b"a\n")])
        trunk.add(["a.txt"])
        trunk.commit("Initial import")
        feature = trunk.controldir.sprout("gfeature").open_workingtree()
        for name in ("one", "two"):
            self.git_commit(feature, name)
        self.send_series()
        self.git_commit(feature, "three")
        err = self.send_series()
        self.assertContainsString(err, "the earlier unsent drafts of this merge request")
        self.assertEqual(["[PATCH 0/3] Add three", "[PATCH 1/3] Add one",
                          "[PATCH 2/3] Add two", "[PATCH 3/3] Add three"], self.patch_drafts())
        (v1_cover,) = [m["Message-ID"] for _f, m in self.messages(self.drafts_folder)
                       if m["Subject"].startswith("[PATCH 0/")]
        self.send_it("[PATCH")
        self.git_commit(feature, "four")
        err = self.send_series()
        self.assertContainsString(err, "Series saved as v2, a reply to")
        self.assertEqual(["[PATCH v2 0/4] Add four"] + [
            "[PATCH v2 %d/4] Add %s" % (n, name)
            for n, name in enumerate(("one", "two", "three", "four"), 1)], self.patch_drafts())
        (cover,) = [m for _f, m in self.messages(self.drafts_folder)
                    if m["Subject"].startswith("[PATCH v2 0/")]
        self.assertEqual(v1_cover, cover["In-Reply-To"])

    def git_commit(self, tree, name: str) -> None:
        self.build_tree_contents([("gfeature/%s.txt" % name, name.encode() + b"\n")])
        tree.add(["%s.txt" % name])
        tree.commit("Add %s" % name)

    def send_series(self) -> str:
        _, err = self.run_bzr(["send", "--format=git", "--mail-to=list@example.org",
                               "../gtrunk"], working_dir="gfeature", stdin="")
        return err

    def patch_drafts(self) -> list:
        return sorted(m["Subject"] for flags, m in self.messages(self.drafts_folder)
                      if m["Subject"].startswith("[PATCH") and b"\\Draft" in flags)


IMAP4D_CONFIG = """\
mailbox {{
  mailbox-pattern "mbox://{root}/INBOX";
  mailbox-type mbox;
}};
namespace personal {{
  prefix "" {{
    directory "{root}";
    delimiter "/";
    mailbox-type mbox;
  }};
}};
"""


def _name(folder: str) -> str:
    return '"%s"' % folder


class TCPScenario(Scenario):
    """A server on a loopback port, the password in the keyring."""

    def set_up_server(self) -> None:
        self.server = self.start_imap_server()
        self.keyring.set_password(self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def start_imap_server(self):
        raise NotImplementedError

    @contextlib.contextmanager
    def mail_program(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(self.server.host, self.server.port, timeout=30)
        try:
            imap.login(USER, PASSWORD)
            yield imap
        finally:
            imap.logout()


class TestOnDovecot(TCPScenario, fixtures.SendTestCase):

    def start_imap_server(self):
        return fixtures.start_dovecot(self, sent_folder=True)


class TestOnCyrus(TCPScenario, fixtures.SendTestCase):

    def start_imap_server(self):
        return fixtures.start_cyrus(self)


class TestOnHoodiecrowAsGMail(TCPScenario, fixtures.SendTestCase):
    """GMail's layout; a sent message is found in All Mail (hoodiecrow has
    no X-GM-RAW search: refused, the plain search stands in)."""

    drafts_folder = "[Gmail]/Drafts"
    sent_folder = "[Gmail]/All Mail"

    def start_imap_server(self):
        return fixtures.start_hoodiecrow(self)


class TunnelScenario(Scenario):
    """A server run through imap_tunnel, preauthenticated: no password."""

    def set_up_server(self) -> None:
        fixtures.no_keyring(self)
        self.tunnel = self.start_tunnel()
        self.configure(imap_tunnel=self.tunnel)
        with self.mail_program() as imap:
            imap.create(_name(self.sent_folder))

    def start_tunnel(self) -> str:
        raise NotImplementedError

    @contextlib.contextmanager
    def mail_program(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4_stream(self.tunnel)
        try:
            # Preauthenticated; Courier without gamin says so after an ALERT.
            self.assertIn("PREAUTH", imap.untagged_responses)
            imap.state = "AUTH"
            yield imap
        finally:
            imap.logout()


class TestOnCourier(TunnelScenario, fixtures.SendTestCase):

    drafts_folder = "INBOX.Drafts"
    sent_folder = "INBOX.Sent"
    gamin = True

    def start_tunnel(self) -> str:
        courier = self.courier = CourierTunnel(os.path.abspath("courier"), USER,
                                               self.gamin)
        try:
            courier.start()
        except ServerUnavailable as e:
            if os.environ.get("CI") == "true":
                self.fail(str(e))
            raise tests.TestNotApplicable(str(e))
        except BuiltWithoutGamin as e:
            raise tests.TestNotApplicable(str(e))
        self.addCleanup(courier.stop)
        return courier.command

    def test_the_greeting(self):
        with self.mail_program() as imap:
            self.assertEqual(self.courier.uses_fam() and not self.gamin,
                             b"[ALERT]" in imap.welcome)


class TestOnCourierWithoutGamin(TestOnCourier):
    """The greeting is ``* OK [ALERT] ...`` and then ``* PREAUTH`` where
    Courier is built with gamin."""

    gamin = False


class TestOnGnuMailutils(TunnelScenario, fixtures.SendTestCase):
    """No UIDPLUS, no MOVE, and it keeps only one of several messages
    APPENDed to the selected folder, without \\Draft."""

    def start_tunnel(self) -> str:
        binary = shutil.which("imap4d") or "/usr/sbin/imap4d"
        if not os.path.exists(binary):
            if os.environ.get("CI") == "true":
                self.fail("needs imap4d (apt-get install mailutils-imap4d)")
            raise tests.TestNotApplicable("needs imap4d (apt-get install"
                                          " mailutils-imap4d)")
        root = os.path.abspath("mail")
        os.mkdir(root)
        with open("imap4d.conf", "w") as f:
            f.write(IMAP4D_CONFIG.format(root=root))
        self.imap4d = [binary, "--inetd", "--preauth",
                       "--config-file=" + os.path.abspath("imap4d.conf")]
        return " ".join(self.imap4d)

    def listing(self) -> bytes:
        """Each message of Drafts: its UID, flags and subject."""
        commands = (b'a SELECT Drafts\r\nb FETCH 1:* (UID FLAGS'
                    b' BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\nc LOGOUT\r\n')
        return subprocess.run(self.imap4d, input=commands, capture_output=True,
                              timeout=30, check=True).stdout

    def test_the_replaced_draft_is_flagged_and_the_new_one_kept(self):
        self.send(stdin="")
        self.commit("Address review")
        _, err = self.send(stdin="")
        self.assertContainsString(
            err, "Flagged the earlier unsent draft of this merge request (UID 1) as"
            " deleted")
        listing = self.listing()
        self.assertContainsRe(listing, rb"\* 1 FETCH \(UID 1 FLAGS \([^)]*\\Deleted")
        self.assertContainsRe(listing, rb"\* 2 FETCH \(UID 2 FLAGS \(\\Draft[^)]*\)"
                              rb"[^\r]*\r\n(?i:Subject): \[MERGE\] Address review")
        self.assertNotContainsRe(listing, rb"\* 3 FETCH")

    def test_an_edit_past_64_kib_is_not_flagged(self):
        """No UIDPLUS, so no UID: brz's own draft is told from the user's
        edit (kept Message-ID, a note at its very end) by the whole of it."""
        self.commit_big_file(100000)
        self.send(stdin="")
        with self.mail_program() as imap:
            imap.select("Drafts")
            _, data = imap.uid("FETCH", "1", "(RFC822)")
            imap.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
            imap.close()  # expunges; imap4d drops the flags of an APPEND to the selected
            imap.append("Drafts", "(\\Draft)", None, data[0][1] + b"My note at the end.\r\n")
        self.commit("Address review")
        _, err = self.send(stdin="")
        self.assertContainsString(err, "alone: it was edited since brz stored it")
        flags = re.search(rb"\* \d+ FETCH \(UID 2 FLAGS \(([^)]*)\)", self.listing())
        self.assertIn(b"\\Draft", flags.group(1))
        self.assertNotIn(b"\\Deleted", flags.group(1))

    def test_imap_send_of_a_series_keeps_every_message(self):
        """imap4d keeps only the first of several APPENDs into the selected
        folder (and answers OK to each): the search's folder is left first."""
        self.build_tree_contents([("series.mbox", series(3))])
        self.run_bzr(["imap-send", "series.mbox"], stdin="")
        listing = self.listing()
        for n in (1, 2, 3):
            self.assertContainsRe(listing, rb"\* %d FETCH \(UID %d FLAGS \(\\Draft"
                                  rb"[^\r]*\r\n(?i:Subject): \[PATCH %d/3\]" % (n, n, n))
        _, err = self.run_bzr(["imap-send", "series.mbox"], stdin="")  # stores nothing
        self.assertNotContainsRe(self.listing(), rb"\* 4 FETCH")

