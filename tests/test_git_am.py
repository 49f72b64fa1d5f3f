"""``git am`` as the judge of ``brz send --format=git``: the drafts, applied
by real git in a clone of the submit branch, make commits with the same
tree, author, author date and message as the ones sent, for every kind of
file and commit a git branch holds; what cannot come back is refused
before anything is stored."""

from __future__ import annotations

import os
import subprocess

from breezy import tests

from ..imapclient_plugin import git_am
from . import fixtures
from .fixtures import USER
from .test_git_series import GitSeriesTestCase

ANN = "Ann Author <ann@example.com>"
# Each commit's tree, author name and address, author date and zone, message.
COMMIT_FIELDS = "%T%x01%an%x01%ae%x01%ad%x01%B%x00"
FIELD_NAMES = ("tree", "author", "address", "date", "message")
EVERY_BYTE = bytes(range(256)) * 8
DOCS = ["docs/page%02d.txt" % n for n in range(20)]


class GitAmTestCase(GitSeriesTestCase):
    """trunk and its clone feature made by git itself, as a git user has
    them; feature's commits are sent, then applied with git am."""

    def make_branches(self) -> None:
        os.mkdir("trunk")
        self.git("init", "-q", cwd="trunk")
        self.write("trunk", "hello.txt", b"hello\n")
        for number, path in enumerate(DOCS):
            self.write("trunk", path, b"".join(b"page %d line %d\n" % (number, line)
                                               for line in range(30)))
        self.write("trunk", "docs/logo.png", EVERY_BYTE)
        self.write("trunk", "docs/CRLF.txt", b"one\r\ntwo\r\n")
        self.write("trunk", "old.txt", b"going\n")
        self.write("trunk", "tool.sh", b"#!/bin/sh\necho tool\n")
        self.git_commit("trunk", "Initial import\n")
        self.git("clone", "-q", "trunk", "feature", cwd=".")

    def write(self, branch: str, path: str, data: bytes) -> None:
        full = os.path.join(branch, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    def git_commit(self, branch: str, message: str, author: str = ANN,
                   date: str = "2026-01-02T03:04:05+0530") -> None:
        """Everything in the working tree, committed with ``message`` as it
        is (no clean-up) by ``author`` at ``date``."""
        name, address = author.rsplit(" <", 1)
        with open("message", "w", encoding="utf-8", newline="") as f:
            f.write(message)
        self.git("add", "-A", cwd=branch)
        self.git("commit", "-q", "--allow-empty", "--cleanup=verbatim",
                 "-F", os.path.abspath("message"), cwd=branch,
                 env={"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": address.rstrip(">"),
                      "GIT_AUTHOR_DATE": date})

    def commits(self, branch: str, count: int) -> list:
        """The last ``count`` commits' fields, a CR in a name as the space
        a mail header makes of it (read as text, a CR is a newline)."""
        log = self.git("log", "-z", "--date=raw", "--format=" + COMMIT_FIELDS,
                       "-%d" % count, cwd=branch)
        commits = [c.strip("\0").split("\x01") for c in log.split("\x00\x00") if c.strip("\0")]
        for fields in commits:
            fields[1] = fields[1].replace("\n", " ")
        return commits

    def apply_drafts(self) -> list:
        """git am of the stored patches (the cover letter left aside), each
        from its own file as fetched from the server, in a new clone of
        trunk; the patches' raw messages."""
        _cover, *patches = [raw for _flags, raw in self.server.messages(USER, "Drafts")]
        os.mkdir("mails")
        paths = []
        for number, raw in enumerate(patches, 1):
            paths.append(os.path.abspath("mails/%04d.eml" % number))
            with open(paths[-1], "wb") as f:
                f.write(raw)
        self.git("clone", "-q", os.path.abspath("trunk"), "applied", cwd=".")
        self.git("am", "-q", *paths, cwd="applied")
        return patches

    def assert_git_am_gives_back(self, count: int) -> list:
        """Send feature's ``count`` commits; git am makes the same ones."""
        self.send("--format=git")
        patches = self.apply_drafts()
        self.assertEqual(count, len(patches))
        for sent, applied in zip(self.commits("feature", count),
                                 self.commits("applied", count)):
            self.assertEqual(dict(zip(FIELD_NAMES, sent)), dict(zip(FIELD_NAMES, applied)))
        return patches


class TestEveryKindOfFile(GitAmTestCase):

    def test_binary_renamed_moded_linked_quoted_files_come_back(self):
        write = self.write
        write("feature", "every-byte.bin", EVERY_BYTE[::-1])
        write("feature", "empty", b"")
        os.symlink("hello.txt", "feature/link")
        for name in ("tab\there", "new\nline", 'quote"d', "caf\u00e9.txt", "back\\slash",
                     "with space"):
            write("feature", name, b"odd name\n")
        write("feature", "latin1.txt", b"caf\xe9\n")
        write("feature", "long-line.txt", b"x" * 2000 + b"\n")
        write("feature", "no-newline.txt", b"last line")
        self.git_commit("feature", "Add files of every kind\n")
        os.rename("feature/docs", "feature/manual")
        write("feature", "manual/page03.txt", b"page 3, rewritten first line\n" + b"".join(
            b"page 3 line %d\n" % line for line in range(1, 30)))
        write("feature", "manual/logo.png", EVERY_BYTE[1:] + b"\0")
        write("feature", "manual/CRLF.txt", b"one\r\ntwo\r\nthree\r\n")
        os.chmod("feature/tool.sh", 0o755)
        os.remove("feature/old.txt")
        os.symlink("tool.sh", "feature/old.txt")  # a file become a link
        write("feature", "no-newline.txt", b"last line\nand one more")
        self.git_commit("feature", "Move the docs to manual, and more\n")
        os.remove("feature/every-byte.bin")
        os.remove("feature/link")
        os.symlink("manual/page01.txt", "feature/old.txt.new")
        os.remove("feature/empty")
        self.git_commit("feature", "Take some away\n")
        patches = self.assert_git_am_gives_back(3)
        self.assertIn(b"GIT binary patch\r\nliteral 2048\r\n", patches[0])
        self.assertIn(b"rename from docs/page01.txt\r\nrename to manual/page01.txt",
                      patches[1])
        self.assertIn(b'diff --git "a/tab\\there" "b/tab\\there"', patches[0])

    def test_the_files_changed_quoted_and_binary(self):
        self.write("feature", "caf\u00e9.txt", b"one\ntwo\n")
        self.write("feature", "every-byte.bin", EVERY_BYTE)
        self.git_commit("feature", "Add two files\n")
        self.send("--format=git")
        cover = self.drafts()[0].get_content().replace("\r\n", "\n")
        self.assertIn(' "caf\\303\\251.txt" | +2 -0\n', cover)
        self.assertIn(" every-byte.bin    | Bin\n", cover)
        patch = self.drafts()[1].get_content().replace("\r\n", "\n")
        self.assertIn("---\n \"caf\\303\\251.txt\" | +2 -0\n every-byte.bin    | Bin\n"
                      " 2 files changed, 2 insertions(+), 0 deletions(-)\n\ndiff --git", patch)


ODD_AUTHORS = [
    "Zo\u00eb D\u00e9veloppeur <zoe@example.com>",
    "=?utf-8?b?QWxpY2U=?= Example <alice@example.com>",
    "Eve\rEvil <eve@example.com>",
    "Doe, Jane <jane@example.com>",
    "J. Random Hacker <jrh@example.com>",
]
ODD_MESSAGES = [
    "Only a subject\n",
    "A literal =?utf-8?b?QWxpY2U=?= in the subject\n\nAnd the body.\n",
    "Caf\u00e9 au lait, \u00e0 la fran\u00e7aise\n",
    "Body with From and dash lines\n\nFrom the first version on, this was so.\n"
    "----\n--\n> quoted\n\nSigned-off-by: Ann <ann@example.com>\n",
    "A subject longer than any header line should be: " + "word " * 60 + "end\n",
]


class TestEveryAuthorAndMessage(GitAmTestCase):

    def test_odd_authors_messages_and_zones_come_back(self):
        zones = ["+0000", "-0800", "+0530", "+1400", "-0330"]
        for number, (author, message, zone) in enumerate(zip(ODD_AUTHORS, ODD_MESSAGES,
                                                             zones)):
            self.write("feature", "file%d.txt" % number, b"%d\n" % number)
            self.git_commit("feature", message, author,
                            "2025-0%d-1%dT12:34:56%s" % (number + 1, number, zone))
        self.assert_git_am_gives_back(len(ODD_AUTHORS))
        self.assertEqual("Eve Evil", self.commits("applied", 3)[2][1])

    def test_a_message_git_am_would_cut_stops_the_send(self):
        self.write("feature", "one.txt", b"1\n")
        self.git_commit("feature", "Fine\n")
        self.write("feature", "two.txt", b"2\n")
        self.git_commit("feature", "Cut short\n\nAbove the line.\n---\nBelow it.\n")
        sha = self.git("rev-parse", "--short=12", "HEAD", cwd="feature").strip()
        _, err = self.send("--format=git", retcode=3)
        self.assertContainsString(err, 'Commit %s ("Cut short") cannot go as a patch' % sha)
        self.assertContainsString(err, 'line 4 of its message ("---")')
        self.assertContainsString(err, "Nothing was stored.")
        self.assertNotContainsString(err, "Traceback")
        self.assertEqual([], self.server.messages(USER, "Drafts"))


class TestWhatGitAmWouldChange(tests.TestCase):
    """The model of git am's reading that decides what is refused."""

    def test_messages_git_am_gives_back(self):
        for message in ODD_MESSAGES + ["Subject\n\nPara one.\n\nPara two.\n"]:
            self.assertIsNone(git_am.message_problem(message), message)

    def test_messages_git_am_changes(self):
        for message, reason in [
                ("First line\nsecond line\n", "first paragraph is 2 lines"),
                ("[doc] Tagged\n", 'starts with "[doc]"'),
                ("Re: a reply\n", 'starts with "Re:"'),
                ("Two  spaces\n", "white space in its subject"),
                ("Subject\n\nFrom: someone\n", 'starts with "From:"'),
                ("Subject\n\ndiff -u a b\n", 'line 3 of its message ("diff -u a b")'),
                ("Subject\n\nok\n--- a/file\n", 'line 4 of its message ("--- a/file")'),
                ("Subject\n\nTrailing \n", "ends in white space"),
                ("Subject\n\none\n\n\ntwo\n", "two blank lines in a row"),
                ("Subject\n\n\nbody\n", "more than one blank line")]:
            self.assertContainsString(git_am.message_problem(message) or "", reason)

    def test_authors_git_am_changes(self):
        for author, reason in [(b"Bob, <bob@example.com>", "takes away"),
                               (b"bob@home <bob@example.com>", "part of an address"),
                               (b"Bob <bob>", "not one git am reads"),
                               (b"<bob@example.com>", "no name")]:
            self.assertContainsString(git_am.unsendable(author, b"Fine\n", None) or "",
                                      reason)
        self.assertIsNone(git_am.unsendable(b"Zo\xc3\xab <z@example.com>", b"Fine\n", None))


class TestMergesAndNothingToSend(GitAmTestCase):

    def test_a_merge_is_left_out_and_the_rest_comes_back(self):
        self.git("checkout", "-q", "-b", "side", cwd="feature")
        self.write("feature", "side.txt", b"from the side\n")
        self.git_commit("feature", "Work on the side\n")
        self.git("checkout", "-q", "-", cwd="feature")
        self.write("feature", "main.txt", b"on the main line\n")
        self.git_commit("feature", "Work on the main line\n")
        self.git("merge", "-q", "--no-ff", "-m", "Merge the side", "side", cwd="feature")
        _, err = self.send("--format=git")
        self.assertContainsRe(err, r'Left out the merge commit [0-9a-f]{12} \("Merge the side"\)')
        cover, *patches = [d["Subject"] for d in self.drafts()]
        self.assertEqual("[PATCH 0/2] Merge the side", cover)
        # The two lines of work in either order, as Breezy's walk gives them.
        self.assertEqual({"Work on the side", "Work on the main line"},
                         {p.split("] ", 1)[1] for p in patches})
        self.apply_drafts()
        tree = "rev-parse", "HEAD^{tree}"
        self.assertEqual(self.git(*tree, cwd="feature"), self.git(*tree, cwd="applied"))

    def test_nothing_to_merge_stores_nothing(self):
        _, err = self.send("--format=git", retcode=3)
        self.assertContainsString(err, "Nothing to send:")
        self.assertEqual(1, err.count("\n"), err)
        self.assertEqual([], self.server.messages(USER, "Drafts"))


class TestNothingToMergeAsABundle(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, fixtures.PASSWORD)
        self.configure(self.server)

    def make_branches(self) -> None:
        trunk = self.make_branch_and_tree("trunk")
        self.build_tree_contents([("trunk/hello.txt", b"hello\n")])
        trunk.add(["hello.txt"])
        trunk.commit("Initial import")
        trunk.controldir.sprout("feature")

    def test_nothing_to_merge_stores_nothing(self):
        _, err = self.send(retcode=3)
        self.assertContainsString(err, "Nothing to send:")
        self.assertEqual([], self.server.messages(USER, "Drafts"))


class TestThisProjectsHistory(GitAmTestCase):
    """This project's whole history, from its first commit on, sent as one
    series and applied."""

    def make_branches(self) -> None:
        source = project_checkout()
        self.git("clone", "-q", "--no-local", source, "feature", cwd=".")
        self.git("clone", "-q", "--no-local", source, "trunk", cwd=".")
        first = self.git("rev-list", "--max-parents=0", "HEAD", cwd="trunk").split()[-1]
        self.git("reset", "-q", "--hard", first, cwd="trunk")

    def test_every_commit_comes_back(self):
        count = int(self.git("rev-list", "--count", "HEAD", cwd="feature")) - 1
        self.assertEqual(count, len(self.assert_git_am_gives_back(count)))


def project_checkout() -> str:
    """This plugin's git checkout: the one it was loaded from, or the one
    IMAPCLIENT_SOURCE names (an installed copy has no history; the
    repository around it, if any, may be another project's)."""
    for place in (fixtures.PLUGIN_ROOT, os.environ.get("IMAPCLIENT_SOURCE", "")):
        found = subprocess.run(["git", "-C", place or ".", "rev-parse", "--show-toplevel"],
                               capture_output=True, text=True)
        top = found.stdout.strip()
        if (place and found.returncode == 0
                and os.path.exists(os.path.join(top, "imapclient_plugin", "git_am.py"))
                and subprocess.run(["git", "-C", top, "rev-parse", "HEAD~1"],
                                   capture_output=True).returncode == 0):
            return top
    raise tests.TestNotApplicable(
        "needs this project's git history: run from a checkout, or set"
        " IMAPCLIENT_SOURCE to one")
