"""``brz send --format=git`` from a git branch: the series as drafts
threaded under a cover letter, which real ``git am`` turns back into the
commits (author, message, tree)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Optional

from breezy import tests

from ..imapclient_plugin import errors, git_series
from . import fixtures, test_mail_program
from .fixtures import PASSWORD, USER, parse
from .proxy import RewritingProxy
from .server_behaviours import CountCommands
from .test_own_drafts import without_uidplus_nor_move

GIT_ENVIRONMENT = {"GIT_COMMITTER_NAME": "Reviewer", "GIT_COMMITTER_EMAIL": "r@example.org"}


def needs_breezy_git() -> None:
    """Breezy 3.3.15's git support does not load on Python 3.9 (an
    annotation only 3.10 reads): there, no brz send --format=git at all."""
    import breezy
    import sys
    try:
        import breezy.git.send  # noqa: F401
    except Exception as e:
        raise tests.TestNotApplicable(
            "Breezy %s's git support does not load on Python %d.%d: %s"
            % (breezy.version_string, sys.version_info[0], sys.version_info[1], e))


class GitSeriesTestCase(fixtures.SendTestCase):
    """A Dovecot with a Sent folder, the password in a keyring, real git."""

    def setUp(self):
        needs_breezy_git()
        if shutil.which("git") is None:
            if os.environ.get("CI") == "true":
                self.fail("needs git (apt-get install git)")
            raise tests.TestNotApplicable("needs git (apt-get install git)")
        super().setUp()
        self.server = fixtures.start_dovecot(self, sent_folder=True)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.configure(self.server)

    def drafts(self) -> list:
        return [parse(raw) for _flags, raw in self.server.messages(USER, "Drafts")]

    def git(self, *args: str, cwd: str, env: Optional[dict] = None) -> str:
        done = subprocess.run(["git"] + list(args), cwd=cwd, text=True,
                              capture_output=True,
                              env=dict(os.environ, **GIT_ENVIRONMENT, **(env or {})))
        self.assertEqual(0, done.returncode, "git %s: %s" % (args, done.stderr))
        return done.stdout


class TestGitSeries(GitSeriesTestCase):

    def commit(self, message: str, path: str = "three.txt") -> None:
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        self.build_tree_contents([("feature/" + path, b"three\n")])
        tree.add([path])
        tree.commit(message)

    def make_branches(self) -> None:
        trunk = self.make_branch_and_tree("trunk", format="git")
        self.build_tree_contents([("trunk/hello.txt", b"hello\n")])
        trunk.add(["hello.txt"])
        trunk.commit("Initial import")
        feature = trunk.controldir.sprout("feature").open_workingtree()
        self.build_tree_contents([("feature/hello.txt", b"hello\nworld \xc3\xa9t\xc3\xa9\n")])
        feature.commit("Say hello to the world\n\nIn the world's words: \xe9t\xe9.\n")
        self.build_tree_contents([("feature/two.txt", b"two\n")])
        feature.add(["two.txt"])
        feature.commit("Add two", authors=["Ann Author <ann@example.com>"])

    def test_the_series_threaded_under_its_cover_letter(self):
        _, err = self.send("--format=git")
        cover, first, second = self.drafts()
        self.assertEqual("[PATCH 0/2] Add two", cover["Subject"])
        self.assertEqual("[PATCH 1/2] Say hello to the world", first["Subject"])
        self.assertEqual("[PATCH 2/2] Add two", second["Subject"])
        for patch in (first, second):
            self.assertEqual(cover["Message-ID"], patch["In-Reply-To"])
            self.assertEqual(cover["Message-ID"], patch["References"])
            self.assertEqual("Project List <list@example.org>", patch["To"])
        self.assertEqual("Ann Author <ann@example.com>", second["From"])
        text = cover.get_content().replace("\r\n", "\n")
        self.assertIn("Say hello to the world\n  Add two", text)
        self.assertIn("2 files changed, 2 insertions(+), 0 deletions(-)", text)
        self.assertEqual(3, err.count('Draft saved to "Drafts"'))
        flags = [flags for flags, _raw in self.server.messages(USER, "Drafts")]
        self.assertTrue(all(b"\\Draft" in f for f in flags), flags)

    def test_git_am_makes_the_same_commits(self):
        self.send("--format=git")
        _cover, *patches = self.server.messages(USER, "Drafts")
        with open("series.mbox", "wb") as f:
            f.write(git_series.as_mbox([raw for _flags, raw in patches]))
        self.git("clone", "-q", os.path.abspath("trunk"), "applied", cwd=".")
        self.git("am", "-q", os.path.abspath("series.mbox"), cwd="applied")
        log = "log", "--format=%an <%ae> %ad%n%B%x00", "-2"

        def commits(cwd):  # git ends every message in a newline; Breezy need not
            return [c.strip() for c in self.git(*log, cwd=cwd).split("\0")]
        self.assertEqual(commits("feature"), commits("applied"))
        tree = "rev-parse", "HEAD^{tree}"
        self.assertEqual(self.git(*tree, cwd="feature"), self.git(*tree, cwd="applied"))

    def test_sending_again_stores_nothing_twice(self):
        self.send("--format=git")
        time.sleep(1.1)  # Breezy dates each patch's mbox From line with the send
        _, err = self.send("--format=git")
        self.assertEqual(3, len(self.drafts()))
        self.assertEqual(3, err.count('Already in "Drafts"'))

    def test_a_corrected_send_replaces_the_series(self):
        self.send("--format=git")
        _, err = self.run_bzr(["send", "--format=git", "--mail-to=Maintainer <m@example.org>",
                               "--body=Please pull.", "../trunk"], working_dir="feature")
        self.assertNotContainsString(err, "Already in")
        self.assertContainsString(err, "Moved the earlier unsent drafts of this merge"
                                  " request (UID 1, 2, 3)")
        cover, *patches = self.drafts()
        self.assertEqual(["Maintainer <m@example.org>"] * 3,
                         [d["To"] for d in [cover] + patches])
        self.assertIn("Please pull.", cover.get_content())
        self.assertEqual(3, len(self.server.messages(USER, "Trash")))

    def test_two_merge_requests_sharing_a_commit_each_get_it(self):
        """[PATCH 1/2] of both is the same commit: each series has its own."""
        self.send("--format=git")
        from breezy.branch import Branch
        feature = Branch.open("feature")
        say_hello = feature.repository.get_revision(feature.last_revision()).parent_ids[0]
        other = feature.controldir.sprout("other", revision_id=say_hello).open_workingtree()
        self.build_tree_contents([("other/four.txt", b"four\n")])
        other.add(["four.txt"])
        other.commit("Add four")
        _, err = self.run_bzr(["send", "--format=git", "--mail-to=list@example.org",
                               "../trunk"], working_dir="other")
        self.assertNotContainsString(err, "Already in")
        subjects = [d["Subject"] for d in self.drafts()]
        self.assertEqual(2, subjects.count("[PATCH 1/2] Say hello to the world"))
        cover = [d for d in self.drafts() if d["Subject"] == "[PATCH 0/2] Add four"][0]
        replies = [d for d in self.drafts() if d["In-Reply-To"] == cover["Message-ID"]]
        self.assertEqual(["[PATCH 1/2] Say hello to the world", "[PATCH 2/2] Add four"],
                         [d["Subject"] for d in replies])

    def test_a_new_commit_replaces_the_unsent_series(self):
        self.send("--format=git")
        self.commit("Add three")
        _, err = self.send("--format=git")
        self.assertEqual(["[PATCH 0/3] Add three", "[PATCH 1/3] Say hello to the world",
                          "[PATCH 2/3] Add two", "[PATCH 3/3] Add three"],
                         [d["Subject"] for d in self.drafts()])
        self.assertContainsRe(err, "the earlier unsent drafts of this merge request")
        self.assertEqual(3, len(self.server.messages(USER, "Trash")))

    def test_after_v1_was_sent_v2_replies_to_its_cover_letter(self):
        self.send("--format=git")
        v1_cover = self.drafts()[0]["Message-ID"]
        with self.server.client(USER) as client:  # sent: in the Sent folder now
            client.select_folder("Drafts")
            client.move(client.search("ALL"), "Sent")
        self.commit("Add three")
        _, err = self.send("--format=git")
        cover, *patches = self.drafts()
        self.assertEqual("[PATCH v2 0/3] Add three", cover["Subject"])
        self.assertEqual(v1_cover, cover["In-Reply-To"])
        self.assertContainsRe(cover.get_content().replace("\r\n", "\n"),
                              "Changes since v1 .*:\n  added:\n    Add three\n")
        self.assertEqual(["[PATCH v2 1/3] Say hello to the world", "[PATCH v2 2/3] Add two",
                          "[PATCH v2 3/3] Add three"], [p["Subject"] for p in patches])
        for patch in patches:
            self.assertEqual(cover["Message-ID"], patch["In-Reply-To"])
            self.assertEqual("%s %s" % (v1_cover, cover["Message-ID"]), patch["References"])
        self.assertContainsString(err, 'Series saved as v2, a reply to "[PATCH 0/2] Add two"')
        self.assertEqual(3, len(self.server.messages(USER, "Sent")))

    def edit_the_end_of(self, subject: str) -> None:
        """As a mail program that keeps the Message-ID saves an edit: a new
        message with a note at the very end, the old one expunged."""
        with self.server.client(USER) as client:
            client.select_folder("Drafts")
            for uid, data in client.fetch(client.search("ALL"), ["RFC822"]).items():
                if parse(data[b"RFC822"])["Subject"] == subject:
                    client.delete_messages([uid])
                    client.expunge()
                    client.append("Drafts", data[b"RFC822"] + b"My note at the end.\r\n",
                                  flags=[b"\\Draft"])

    def assert_an_edit_past_64_kib_survives(self):
        self.build_tree_contents([("feature/big.txt", b"".join(
            b"line %06d of a big text file\n" % n for n in range(5000)))])
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        tree.add(["big.txt"])
        tree.commit("Add a big text file")
        self.send("--format=git")
        self.edit_the_end_of("[PATCH 3/3] Add a big text file")
        self.commit("Add three")
        _, err = self.send("--format=git")
        self.assertContainsRe(err, "Left the earlier draft <[^>]+> in \"Drafts\" alone: it"
                              " was (changed|edited) since brz stored it")
        edited = [flags for flags, raw in self.server.messages(USER, "Drafts")
                  if raw.endswith(b"My note at the end.\r\n")]
        self.assertEqual(1, len(edited))
        self.assertNotIn(b"\\Deleted", edited[0])
        self.assertNotIn(b"My note at the end.", b"".join(
            raw for _flags, raw in self.server.messages(USER, "Trash")))

    def test_an_edit_past_64_kib_survives_the_next_send(self):
        self.assert_an_edit_past_64_kib_survives()

    def test_an_edit_past_64_kib_survives_without_uidplus(self):
        # No UID known: the proof is the whole message's fingerprint.
        proxy = RewritingProxy((self.server.host, self.server.port),
                               faults=lambda n: CountCommands(without_uidplus_nor_move))
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        self.assert_an_edit_past_64_kib_survives()

    def test_imap_send_of_the_series_removes_none_of_it(self):
        # Each message brz remembers is settled by imap-send; the others of
        # the same series, stored with it, are not drafts it replaces.
        self.send("--format=git")
        with open("series.mbox", "wb") as f:
            f.write(git_series.as_mbox([raw for _flags, raw in
                                        self.server.messages(USER, "Drafts")]))
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(3, err.count('Already in "Drafts"'))
        self.assertEqual(3, len(self.drafts()))
        self.assertEqual([], self.server.messages(USER, "Trash"))

    def test_kept_as_an_mbox_that_imap_send_stores(self):
        self.server.stop()
        _, err = self.send("--format=git", retcode=3)
        path = self.kept_message_path(err)
        self.assertEndsWith(path, ".mbox")
        self.server = fixtures.start_dovecot(self)
        self.configure(self.server)
        self.run_bzr(["imap-send", path])
        self.assertEqual(["[PATCH 0/2] Add two", "[PATCH 1/2] Say hello to the world",
                          "[PATCH 2/2] Add two"], [d["Subject"] for d in self.drafts()])

    def test_imap_send_of_a_kept_revision_replaces_the_unsent_series(self):
        # One engine: kept before the folder was looked at, the series is
        # remembered as the next revision, as a single draft is.
        self.send("--format=git")
        self.commit("Add three")
        self.configure(imap_server="imap://127.0.0.1:1")  # nothing listens
        kept = self.kept_message_path(self.send("--format=git", retcode=3)[1])
        self.configure(self.server)
        _, err = self.run_bzr(["imap-send", kept])
        self.assertContainsString(err, "the earlier unsent drafts of this merge request")
        self.assertEqual(["[PATCH 0/3] Add three", "[PATCH 1/3] Say hello to the world",
                          "[PATCH 2/3] Add two", "[PATCH 3/3] Add three"],
                         [d["Subject"] for d in self.drafts()])
        self.assertEqual(3, len(self.server.messages(USER, "Trash")))

    def test_diffstat_counts_what_each_hunk_says(self):
        # A removed line that looks like a signature ("-- ") is counted; the
        # signature after the last hunk is not.
        first = (b"diff --git a/hello.txt b/hello.txt\nindex ce01362..94954ab 100644\n"
                 b"--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1,2 @@\n hello\n+world\n"
                 b"-- \nBreezy 3.3.23, dulwich 1.2.21\n")
        second = (b"diff --git a/two.txt b/two.txt\nnew file mode 100644\n"
                  b"--- /dev/null\n+++ b/two.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n"
                  b"diff --git a/hello.txt b/hello.txt\n--- a/hello.txt\n+++ b/hello.txt\n"
                  b"@@ -1,3 +1,2 @@\n--- \n hello\n world\n-- \n2.39\n")
        self.assertEqual(" hello.txt | +1 -1\n two.txt   | +2 -0\n"
                         " 2 files changed, 3 insertions(+), 1 deletions(-)\n",
                         git_series.diffstat([first, second]))

    def hook_params(self, mail_client: str, patches: list[tuple[str, bytes]]):
        """What Breezy gives the hook: a git branch whose mail client is
        ``mail_client`` and a directive of ``patches``."""
        branch = self.make_branch("other", format="git")
        branch.get_config_stack().set("mail_client", mail_client)

        class Directive:
            patch = None
            target_branch = "file:///trunk"

        class Params:
            body, directive = "the body", Directive()

        Params.branch, Directive.patches = branch, patches
        return Params()

    def test_other_mail_clients_never_meet_the_hook(self):
        params = self.hook_params("editor", [("0001-x.patch", b"From x")])
        self.assertEqual("the body", git_series._commits_as_text(params))
        self.assertIsNone(params.directive.patch)

    def test_a_patch_without_its_commit_stops_the_send(self):
        sha = b"1" * 40
        params = self.hook_params("imapclient", [
            ("0001-a.patch", b"From %s Mon Sep 17 00:00:00 2001\n" % sha),
            ("0002-b.patch", b"Subject: no From line\n")])
        err = self.assertRaises(errors.PatchWithoutCommit,
                                git_series._commits_as_text, params)
        self.assertContainsString(str(err), "0002-b.patch")
        self.assertIsNone(params.directive.patch)


NEOMUTTRC = test_mail_program.MUTT_ACCOUNT + """\
set spoolfile="+Drafts"
set sort=threads
set ascii_chars=yes
"""


class TestNeomuttShowsTheThread(test_mail_program.MailProgramTestCase):
    """The series as a reader's mail program shows it: the patches under
    the cover letter."""

    program = "neomutt"
    make_branches = TestGitSeries.make_branches

    def setUp(self):
        needs_breezy_git()
        super().setUp()

    def test_patches_under_the_cover_letter(self):
        self.send("--format=git")
        with open("neomuttrc", "w") as f:
            f.write(NEOMUTTRC.format(port=self.server.port, user=USER, password=PASSWORD))
        session = self.start("neomutt -n -F %s" % os.path.abspath("neomuttrc"))
        self.wait_for(lambda: "[PATCH 2/2]" in self.screen(session), "the series", session)
        lines = {line.split("]", 1)[0].rsplit("[", 1)[-1]: line
                 for line in self.screen(session).splitlines() if "[PATCH " in line}
        self.assertNotIn("->", lines["PATCH 0/2"])
        self.assertIn("|->[PATCH1/2]", lines["PATCH 1/2"].replace(" ", ""))
        self.assertIn("`->[PATCH2/2]", lines["PATCH 2/2"].replace(" ", ""))
