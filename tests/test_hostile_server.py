"""Every byte a server sends is hostile until checked: a slow or endless
reply, a giant literal, escape sequences, malformed lists, and a server
that refuses every login method brz speaks all end in one paragraph, in
bounded time and memory, with the message kept."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from breezy import tests
from imapclient.response_types import BodyData

from . import fixtures
from .fixtures import PASSWORD, USER
from .proxy import RefuseAppend, RewritingProxy
from .server_behaviours import CountCommands, DripFeed, EndlessUntagged, GiantLiteral
from .test_faults import ProxiedDovecotTestCase, every_connection
from ..imapclient_plugin import sent_copies


class TestBoundedReplies(ProxiedDovecotTestCase):

    def timed_send(self, faults, **options):
        self.through_proxy(faults, imap_timeout="1", **options)
        started = time.monotonic()
        _, err = self.send(retcode=3)
        return err, time.monotonic() - started

    def test_server_dripping_its_greeting(self):
        # 0.2 s a byte is well inside a per-read timeout of 1 s: only a
        # deadline for the whole reply stops it.
        err, seconds = self.timed_send(every_connection(DripFeed, 0.2))
        self.assertNotStored(err, "did not answer within 1 seconds")
        self.assertLess(seconds, 8)

    def test_server_sending_untagged_lines_forever(self):
        err, seconds = self.timed_send(every_connection(EndlessUntagged))
        self.assertNotStored(err, "did not answer within 1 seconds")
        self.assertLess(seconds, 8)

    def test_giant_literal_is_refused_before_it_is_read(self):
        giant = GiantLiteral(announced=1000000000, sent_at_most=64 << 20)
        self.through_proxy(lambda n: giant)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "a literal of 1000000000 bytes")
        # brz hung up at once instead of reading it (the proxy may have
        # pushed a few socket buffers' worth before noticing).
        self.assertLess(giant.sent, 16 << 20)

    def test_connect_timeout_is_a_timeout(self):
        # A listener whose backlog is full drops new SYNs: connect() waits.
        # (Python 3.9's socket.timeout is not TimeoutError.)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        waiting = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(listener.getsockname())
            waiting.append(s)
        self.addCleanup(lambda: [s.close() for s in waiting])
        self.configure(self.server, imap_timeout="1",
                       imap_server="imap://127.0.0.1:%d" % listener.getsockname()[1])
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "did not answer within 1 seconds")

    def test_tunnel_that_never_answers(self):
        marker = "brz-imapclient-test-%d" % os.getpid()
        command = "sleep 60; echo %s" % marker  # a shell with a child
        self.configure(imap_tunnel=command, imap_timeout="1")
        started = time.monotonic()
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "imap_tunnel (%s)" % command)
        self.assertLess(time.monotonic() - started, 8)
        left = subprocess.run(["pgrep", "-f", marker], capture_output=True)
        self.assertEqual(b"", left.stdout)  # the command and its children ended


class TestServerText(ProxiedDovecotTestCase):

    def test_escape_sequences_are_not_printed(self):
        self.through_proxy(every_connection(
            RefuseAppend, b"NO \x1b[2J\x1b[HDraft saved to \"Drafts\"\x07"))
        _, err = self.send(retcode=3)
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\x07", err)
        self.assertNotStored(err, "\\x1b[2J")

    def test_bidi_controls_are_not_printed(self):
        """U+202E (right-to-left override) would make what follows read
        backwards: a server could make its text say something else."""
        self.through_proxy(every_connection(
            RefuseAppend, "NO quota \u202edetaeler".encode("utf-8")))
        _, err = self.send(retcode=3)
        self.assertNotIn("\u202e", err)
        self.assertNotStored(err, "quota \\u202edetaeler")

    def test_bidi_controls_in_a_folder_name_are_not_printed(self):
        with self.server.client(USER) as client:
            client.create_folder("Drafts\u202etxt.exe")
        self.configure(self.server)
        out = self.run_bzr(["imap-folders"])[0]
        self.assertNotIn("\u202e", out)
        self.assertContainsString(out, "Drafts\\u202etxt.exe")

    def assertListingGarbled(self, rewrite) -> None:
        """imap-folders, with the server's LIST line rewritten, is one
        paragraph saying the reply is not valid IMAP."""
        proxy = RewritingProxy((self.server.host, self.server.port), rewrite)
        self.addCleanup(proxy.close)
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        err = self.run_bzr(["imap-folders"], retcode=3)[1]
        self.assertContainsRe(err, "^brz: ERROR: The IMAP server 127.0.0.1 sent a"
                              " reply that is not valid IMAP during LIST")
        self.assertNotContainsString(err, "Traceback")

    def test_list_line_without_a_name(self):
        self.assertListingGarbled(lambda line: line.replace(
            b' "." Drafts\r\n', b' "."\r\n'))

    def test_malformed_modified_utf7_folder_name(self):
        self.assertListingGarbled(lambda line: line.replace(
            b' "." Drafts\r\n', b' "." "&////-"\r\n'))


class TestLoginMethods(ProxiedDovecotTestCase):

    def test_logindisabled_without_plain_is_a_clear_error(self):
        counter = CountCommands(lambda line: line.replace(
            b" AUTH=PLAIN AUTH=LOGIN", b" LOGINDISABLED AUTH=SCRAM-SHA-256"))
        self.through_proxy(lambda n: counter)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "has disabled LOGIN (LOGINDISABLED) and offers"
                             " AUTH=SCRAM-SHA-256")
        self.assertNotIn(b"LOGIN", counter.commands)

    def test_line_break_in_a_password_is_never_sent(self):
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD + "\r\nA99 DELETE INBOX")
        counter = CountCommands(lambda line: line.replace(b" AUTH=PLAIN", b""))
        self.through_proxy(lambda n: counter)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "contains a control character", "LOGIN cannot")
        self.assertNotIn(b"LOGIN", counter.commands)
        self.assertNotIn(b"DELETE", counter.commands)


class TestNestedBodyStructure(tests.TestCase):
    """The sent copy's parts are read to a depth, not as deep as a server
    nests them."""

    def nested(self, depth: int):
        structure = (b"text", b"x-patch", None, None, None, b"base64", 10)
        for _ in range(depth):
            structure = (structure, b"mixed")
        return BodyData.create(structure)

    def test_parts_within_reach(self):
        self.assertEqual([("1.1", b"base64")], list(sent_copies._leaves(self.nested(2))))
        self.assertEqual([("1", b"base64")], list(sent_copies._leaves(self.nested(0))))

    def test_parts_nested_too_deep_are_not_read(self):
        self.assertEqual([], list(sent_copies._leaves(self.nested(20))))
