"""A real mail program finishes the draft: mutt recalls it from the Drafts
folder over IMAP and sends it (through a sendmail that keeps the message),
and ``brz merge`` takes the patch from the message that was sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from breezy import tests

from . import fixtures
from .fixtures import PASSWORD, USER, attachment_bytes, parse

MUTTRC = """\
set folder="imap://127.0.0.1:{port}/"
set imap_user="{user}"
set imap_pass="{password}"
set ssl_starttls=no
set ssl_force_tls=no
set spoolfile="+INBOX"
set postponed="+Drafts"
set recall=yes
set sendmail="{sendmail}"
set editor="true"
set abort_unmodified=no
set copy=no
set record=""
set header_cache=""
set message_cachedir=""
set charset="utf-8"
set send_charset="utf-8"
set timeout=1
set mail_check=60
"""
SENDMAIL = "#!/bin/sh\ncat > '{sent}'\n"
WAIT = 30.0
CRLF_TEXT = "Caf\u00e9 na\u00efve \u00fcber\r\n".encode("utf-8")


class TestMuttFinishesTheDraft(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        missing = [tool for tool in ("mutt", "tmux") if shutil.which(tool) is None]
        if missing:
            message = "needs %s (apt-get install mutt tmux)" % " and ".join(missing)
            if os.environ.get("CI") == "true":
                self.fail(message)
            raise tests.TestNotApplicable(message)
        self.server = fixtures.start_dovecot(self)
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
        self.fail("mutt: no %s; the screen:\n%s" % (what, self.screen(session)))

    def mutt_sends_the_draft(self) -> bytes:
        sent_path = os.path.abspath("sent.eml")
        sendmail = os.path.abspath("sendmail")
        with open(sendmail, "w") as f:
            f.write(SENDMAIL.format(sent=sent_path))
        os.chmod(sendmail, 0o755)
        with open("muttrc", "w") as f:
            f.write(MUTTRC.format(port=self.server.port, user=USER,
                                  password=PASSWORD, sendmail=sendmail))
        session = "brz-imapclient-test-%d" % os.getpid()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "150",
                        "-y", "40", "mutt -n -F %s -p" % os.path.abspath("muttrc")],
                       check=True, env=dict(os.environ, TERM="xterm"))
        self.addCleanup(subprocess.run, ["tmux", "kill-session", "-t", session],
                        capture_output=True)
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
        time.sleep(0.2)  # sendmail's cat has finished writing
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
