"""A real mail program finishes the draft: mutt, neomutt and aerc recall it
from the Drafts folder over IMAP and send it (through a sendmail that keeps
the message),
and ``brz merge`` takes the patch from the message that was sent, whether
it travelled as text, quoted-printable or base64; alpine sends it with a
new Message-ID, and the next version still replies to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse

from breezy import tests

from . import fixtures
from .fixtures import PASSWORD, USER, attachment_bytes, parse

# mutt's and neomutt's way into the test's Dovecot, no cache.
MUTT_ACCOUNT = """\
set folder="imap://127.0.0.1:{port}/"
set imap_user="{user}"
set imap_pass="{password}"
set ssl_starttls=no
set ssl_force_tls=no
set header_cache=""
set message_cachedir=""
set timeout=1
"""
MUTTRC = MUTT_ACCOUNT + """\
set spoolfile="+INBOX"
set postponed="+Drafts"
set recall=yes
set sendmail="{sendmail}"
set editor="true"
set abort_unmodified=no
set copy=no
set record=""
set charset="utf-8"
set send_charset="utf-8"
set mail_check=60
"""
# The message appears whole or not at all (a 40 MB one takes a while).
SENDMAIL = "#!/bin/sh\ncat > '{sent}.part' && mv '{sent}.part' '{sent}'\n"
WAIT = 30.0
BINARY_FILE_BYTES = 30 << 20
CRLF_TEXT = "Caf\u00e9 na\u00efve \u00fcber\r\n".encode("utf-8")


class MailProgramTestCase(fixtures.SendTestCase):
    """A Dovecot, and a terminal mail program driven through tmux."""

    program = "mutt"
    sent_folder = False

    def setUp(self):
        super().setUp()
        missing = [tool for tool in (self.program, "tmux") if shutil.which(tool) is None]
        if missing:
            message = "needs %s (apt-get install %s)" % (
                " and ".join(missing), " ".join(missing))
            if os.environ.get("CI") == "true":
                self.fail(message)
            raise tests.TestNotApplicable(message)
        self.server = fixtures.start_dovecot(self, sent_folder=self.sent_folder)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def screen(self, session: str) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                              capture_output=True, text=True).stdout

    def wait_for(self, condition, what: str, session: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        self.fail("%s: no %s; the screen:\n%s" % (self.program, what,
                                                   self.screen(session)))


    def answer_then_read(self, session: str, sent_path: str, steps) -> bytes:
        """For each (text shown, keys): wait for the text, type the keys;
        then the message the program sent."""
        for shown, keys in steps:
            self.wait_for(lambda: shown in self.screen(session), shown, session)
            subprocess.run(["tmux", "send-keys", "-t", session] + keys, check=True)
        self.wait_for(lambda: os.path.exists(sent_path), "sent message", session)
        with open(sent_path, "rb") as f:
            return f.read()

    def commit_a_binary_file(self) -> bytes:
        """A 30 MB file no compressor shrinks, committed in the feature
        branch: its bundle is a 40 MB line of base64."""
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        # A NUL first, as commit_big_file has it: without one in its first
        # 1024 bytes (one run in 55) Breezy's diff takes random bytes for
        # text, the directive holds them, and base64 is then right.
        content = b"\0" + os.urandom(BINARY_FILE_BYTES - 1)
        self.build_tree_contents([("feature/picture.bin", content)])
        tree.add(["picture.bin"])
        tree.commit("Add a picture")
        return content

    def make_sendmail(self) -> tuple[str, str]:
        """(where the message sent goes, the sendmail that puts it there)."""
        sent_path = os.path.abspath("sent.eml")
        sendmail = os.path.abspath("sendmail")
        with open(sendmail, "w") as f:
            f.write(SENDMAIL.format(sent=sent_path))
        os.chmod(sendmail, 0o755)
        return sent_path, sendmail

    def start(self, command: str, **environment: str) -> str:
        """Run ``command`` in a tmux session of its own: its name."""
        session = "brz-imapclient-%s-%d" % (self.program, os.getpid())
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "150",
                        "-y", "40", command], check=True,
                       env=dict(os.environ, TERM="xterm", **environment))
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t", session],
                        capture_output=True)
        return session


class TestMuttFinishesTheDraft(MailProgramTestCase):

    def mutt_sends_the_draft(self) -> bytes:
        sent_path, sendmail = self.make_sendmail()
        with open("muttrc", "w") as f:
            f.write(MUTTRC.format(port=self.server.port, user=USER,
                                  password=PASSWORD, sendmail=sendmail))
        session = self.start("%s -n -F %s -p" % (self.program, os.path.abspath("muttrc")))
        # The compose menu of the recalled draft, then y: send.
        self.wait_for(lambda: "y:Send" in self.screen(session), "compose menu",
                      session)
        subprocess.run(["tmux", "send-keys", "-t", session, "y"], check=True)
        answered = []

        def mutt_has_sent() -> bool:
            screen = self.screen(session)
            # mutt asks this when the file it recalled the attachment into
            # was written in a later second than it noted (a slow machine):
            # nothing changed the file, so its encoding stays.
            if "modified. Update encoding" in screen and not answered:
                subprocess.run(["tmux", "send-keys", "-t", session, "n"], check=True)
                answered.append(True)
                return False
            return (os.path.exists(sent_path) and os.path.getsize(sent_path) > 0
                    and "y:Send" not in screen)

        self.wait_for(mutt_has_sent, "sent message", session)
        with open(sent_path, "rb") as f:
            return f.read()

    def test_recall_send_and_merge(self):
        # A file with CRLF line ends and non-ASCII text: the directive goes
        # as base64, which mutt decodes by the part's charset.
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        self.build_tree_contents([("feature/windows.txt", CRLF_TEXT)])
        tree.add(["windows.txt"])
        tree.commit("Say hello to the world")
        self.send()
        message = parse(self.mutt_sends_the_draft())
        self.assertEqual("[MERGE] Say hello to the world", message["Subject"])
        self.assertEqual("Project List <list@example.org>", message["To"])
        (part,) = list(message.iter_attachments())
        self.assertEqual("feature-3.patch", part.get_filename())
        # mutt labels a part without charset "us-ascii": a reviewer's mail
        # program would then garble the non-ASCII lines.
        self.assertEqual("utf-8", part.get_content_charset())
        with open("sent.patch", "wb") as f:
            f.write(attachment_bytes(message))
        self.run_bzr(["merge", "../sent.patch"], working_dir="trunk")
        self.assertFileEqual(b"hello\nworld \xc3\xa9t\xc3\xa9\n", "trunk/hello.txt")
        self.assertFileEqual(CRLF_TEXT, "trunk/windows.txt")

    def test_a_binary_file_travels_quoted_printable(self):
        # Its bundle is one long line of base64: quoted-printable carries it
        # at about its own size, where base64 again would add a third.
        content = self.commit_a_binary_file()
        self.send()
        ((_flags, raw),) = self.server.messages(USER, "Drafts")
        (part,) = list(parse(raw).iter_attachments())
        self.assertEqual("quoted-printable", part["Content-Transfer-Encoding"])
        self.assertLess(len(raw), len(attachment_bytes(parse(raw))) * 1.05 + 3000)
        with open("sent.patch", "wb") as f:
            f.write(attachment_bytes(parse(self.mutt_sends_the_draft())))
        self.run_bzr(["merge", "../sent.patch"], working_dir="trunk")
        self.assertFileEqual(content, "trunk/picture.bin")


class TestNeomuttFinishesTheDraft(TestMuttFinishesTheDraft):
    """neomutt, mutt's fork: the same settings, the same keys."""

    program = "neomutt"


AERC_ACCOUNTS = """\
[test]
source = imap+insecure://{user}:{password}@127.0.0.1:{port}
outgoing = {sendmail}
default = INBOX
from = Jane Dev <jane@example.com>
postpone = Drafts
copy-to =
"""
AERC_CONF = """\
[general]
unsafe-accounts-conf = true
[compose]
editor = true
"""


class TestAercSendsTheDraft(MailProgramTestCase):
    """aerc recalls the draft (``:recall``) and sends it as it is."""

    program = "aerc"

    def aerc_sends_the_draft(self) -> bytes:
        sent_path, sendmail = self.make_sendmail()
        config = os.path.abspath("config")
        os.makedirs(os.path.join(config, "aerc"))
        for name, text in (("accounts.conf", AERC_ACCOUNTS), ("aerc.conf", AERC_CONF)):
            with open(os.path.join(config, "aerc", name), "w") as f:
                f.write(text.format(user=USER, password=urllib.parse.quote(PASSWORD),
                                    port=self.server.port, sendmail=sendmail))
        # tmux gives a new session its server's environment: set it here.
        session = self.start("env XDG_CONFIG_HOME=%s HOME=%s aerc" % (
            config, os.path.abspath(".")))
        # The review lists the attachment once aerc has fetched it: sent
        # before that, the message goes without it.
        return self.answer_then_read(session, sent_path, (
            ("Drafts", [":cf Drafts", "Enter"]), ("[MERGE]", [":recall", "Enter"]),
            (".patch", ["y"])))

    def test_a_binary_file_merges_from_what_aerc_sent(self):
        content = self.commit_a_binary_file()
        self.send()
        sent = parse(self.aerc_sends_the_draft())
        self.assertEqual("[MERGE] Add a picture", sent["Subject"])
        with open("sent.patch", "wb") as f:
            f.write(attachment_bytes(sent))
        self.run_bzr(["merge", "../sent.patch"], working_dir="trunk")
        self.assertFileEqual(content, "trunk/picture.bin")


PINERC = """\
inbox-path={{127.0.0.1:{port}/imap/notls/user={user}}}INBOX
postponed-folder={{127.0.0.1:{port}/imap/notls/user={user}}}Drafts
sendmail-path={sendmail}
user-domain=example.com
feature-list=quit-without-confirm
last-version-used=6.26
"""


class TestAlpineSendsTheDraft(MailProgramTestCase):
    """alpine gives the message it sends a new Message-ID: the sent copy
    is found by the directive in its attachment, and v2 replies to it."""

    program = "alpine"
    sent_folder = True

    def alpine_sends_the_draft(self) -> bytes:
        sent_path, sendmail = self.make_sendmail()
        with open("pinerc", "w") as f:
            f.write(PINERC.format(port=self.server.port, user=USER, sendmail=sendmail))
        # alpine makes ~/mail: a home of its own.
        session = self.start("alpine -p %s -I c" % os.path.abspath("pinerc"),
                             HOME=os.path.abspath("."))
        # c (compose) was typed at start: the password, not kept; continue
        # the postponed draft (brz's); ^X, y: send.
        return self.answer_then_read(session, sent_path, (
            ("ENTER PASSWORD", [PASSWORD, "Enter"]), ("Preserve password", ["n"]),
            ("Continue postponed composition", ["y"]), ("^X Send", ["C-x"]),
            ("Send message?", ["y"])))

    def test_next_version_replies_to_what_alpine_sent(self):
        self.send()
        (draft,) = [parse(raw) for _flags, raw in self.server.messages(USER, "Drafts")]
        # The bundle's line is longer than a mail line may be.
        (part,) = list(draft.iter_attachments())
        self.assertEqual("quoted-printable", part["Content-Transfer-Encoding"])
        sent = self.alpine_sends_the_draft()
        self.assertNotEqual(draft["Message-ID"], parse(sent)["Message-ID"])
        with open("sent.patch", "wb") as f:
            f.write(attachment_bytes(parse(sent)))
        self.run_bzr(["merge", "../sent.patch"], working_dir="trunk")
        self.run_bzr(["revert"], working_dir="trunk")
        # The copy the submission server (or GMail) keeps in the sent folder.
        with self.server.client(USER) as client:
            client.append("Sent", sent, flags=[b"\\Seen"])
        self.assertEqual([], self.server.messages(USER, "Drafts"))
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        self.build_tree_contents([("feature/hello.txt", b"hello\nreviewed\n")])
        tree.commit("Address review")
        _, err = self.send()
        self.assertContainsString(err, 'Draft saved as v2, a reply to "[MERGE] Say hello'
                                  ' to the world"')
        (v2,) = [parse(raw) for _flags, raw in self.server.messages(USER, "Drafts")]
        self.assertEqual("[MERGE v2] Address review", v2["Subject"])
        self.assertEqual(parse(sent)["Message-ID"], v2["In-Reply-To"].strip())
