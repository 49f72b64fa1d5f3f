"""Faults around the APPEND, injected by a proxy in front of a real Dovecot.

The promise: exactly one draft, or a clear error with the message kept.
"""

from __future__ import annotations

import time

import keyring

from ..imapclient_plugin.draft_data import SPLICE_FROM
from . import fixtures
from .fixtures import PASSWORD, USER, parse
from .proxy import (ByeOnAppend, CutBeforeReply, CutInsideLiteral, Faults,
                    RefuseAppend, RewritingProxy)
from .server_behaviours import (CountCommands, CourierReadOnlyRule, CutInTheListing,
                                GreetingWhenSpokenTo, GreetingWithoutCapabilities,
                                WithoutInitialResponse, HideFirstSearchHit,
                                SlowAppendReply, SlowUplink)


def first_connection(faults_class, *args):
    """The fault strikes the first connection only; reconnecting works."""
    return lambda n: faults_class(*args) if n == 0 else Faults()


def every_connection(faults_class, *args):
    return lambda n: faults_class(*args)


class ProxiedDovecotTestCase(fixtures.SendTestCase):
    """A Dovecot with the user's password in the keyring, behind a proxy."""

    def setUp(self):
        super().setUp()
        self.server = fixtures.start_dovecot(self)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, PASSWORD)

    def through_proxy(self, faults, receive_buffer=None, **options) -> RewritingProxy:
        proxy = RewritingProxy((self.server.host, self.server.port), faults=faults,
                               receive_buffer=receive_buffer)
        self.addCleanup(proxy.close)
        self.configure(self.server,
                       imap_server="imap://127.0.0.1:%d" % proxy.port, **options)
        return proxy

    def drafts(self):
        return self.server.messages(USER, "Drafts")


class TestFaultsAroundAppend(ProxiedDovecotTestCase):

    def test_lost_reply_after_the_draft_arrived_stores_one_draft(self):
        proxy = self.through_proxy(first_connection(CutBeforeReply))
        _, err = self.send()
        self.assertContainsString(err, "Reconnecting to check whether the draft")
        self.assertContainsString(err, "The draft was already there.")
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 1\)')
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(2, proxy.connections)

    def test_cut_inside_the_upload_is_retried_once(self):
        proxy = self.through_proxy(first_connection(CutInsideLiteral))
        _, err = self.send()
        self.assertContainsString(err, "Reconnecting to check whether the draft")
        self.assertNotContainsString(err, "already there")
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(2, proxy.connections)

    def test_connection_that_keeps_dropping_keeps_the_message(self):
        proxy = self.through_proxy(every_connection(CutInsideLiteral))
        _, err = self.send(retcode=3)
        error_line = [line for line in err.splitlines() if "brz: ERROR" in line]
        self.assertEqual(1, len(error_line))
        self.assertContainsString(
            error_line[0], "The connection to the IMAP server 127.0.0.1 was lost")
        self.kept_message_path(err)
        self.assertEqual([], self.drafts())
        self.assertEqual(2, proxy.connections)  # one retry, not a loop

    def test_server_bye(self):
        self.through_proxy(every_connection(ByeOnAppend))
        _, err = self.send(retcode=3)
        self.assertContainsString(err, "Server shutting down")
        self.kept_message_path(err)
        self.assertEqual([], self.drafts())

    def assertRefused(self, reply: bytes, *needles: str) -> None:
        proxy = self.through_proxy(every_connection(RefuseAppend, reply))
        _, err = self.send(retcode=3)
        self.assertNotStored(err, *needles)
        self.assertEqual(1, proxy.connections)  # a refusal is not retried
        self.assertEqual([], self.drafts())

    def test_over_quota(self):
        self.assertRefused(b"NO [OVERQUOTA] Quota exceeded (mailbox is full)",
                           'refused APPEND (folder "Drafts")', "OVERQUOTA")

    def test_too_big(self):
        self.assertRefused(b"NO [TOOBIG] Message too large", "[TOOBIG]")

    def test_bad(self):
        self.assertRefused(b"BAD Error in IMAP command APPEND", "BAD",
                           'refused APPEND (folder "Drafts")')

    def test_trycreate(self):
        self.assertRefused(b"NO [TRYCREATE] Mailbox doesn't exist: Drafts",
                           'refused the folder "Drafts"', "TRYCREATE")


class TestFaultsAroundABigAppend(TestFaultsAroundAppend):
    """The same faults with a draft over SPLICE_FROM, which is made as it
    is sent (``draft_data.SplicedDraft``): sent again whole after a lost
    connection, kept whole on disk when it cannot be stored."""

    def setUp(self):
        super().setUp()
        self.commit_big_file(1200000, "Say hello to the world")  # the subject looked for

    def test_kept_draft_is_whole_and_mergeable(self):
        self.through_proxy(every_connection(CutInsideLiteral))
        _, err = self.send(retcode=3)
        with open(self.kept_message_path(err), "rb") as f:
            kept = f.read()
        self.assertGreater(len(kept), SPLICE_FROM)
        message = parse(kept)
        self.assertEqual([], message.defects)
        with open("directive.patch", "wb") as f:
            f.write(fixtures.attachment_bytes(message))
        self.run_bzr(["merge", "../directive.patch"], working_dir="trunk")
        self.assertPathExists("trunk/big.bin")


class TestBigAppendToAKnownFolder(TestFaultsAroundABigAppend):
    """The folder known: the APPEND goes as soon as the login's OK is read."""

    def through_proxy(self, faults, receive_buffer=None, **options) -> RewritingProxy:
        return super().through_proxy(faults, receive_buffer,
                                     imap_mailbox="Drafts", **options)


class TestFirstSend(ProxiedDovecotTestCase):
    """No folder configured or remembered: a LIST goes with the login."""

    def test_lost_while_listing_the_folders(self):
        self.through_proxy(every_connection(CutInTheListing))
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "The connection to the IMAP server 127.0.0.1 was lost")
        self.assertEqual([], self.drafts())


def connections(*faults_per_connection):
    """The n-th connection gets the n-th Faults (made on demand)."""
    return lambda n: (faults_per_connection[n]() if n < len(faults_per_connection)
                      else Faults())


class TestExactlyOnce(ProxiedDovecotTestCase):
    """Never a second draft: not on a slow link, not while the first
    connection may still complete, and not from a substring match."""

    def test_slow_uplink_is_not_a_timeout(self):
        # About 3.3 MB of draft at 1 MB/s with imap_timeout = 1: the upload
        # moves all the time, so it is never given up.
        self.commit_big_file(2400000)
        proxy = self.through_proxy(connections(lambda: SlowUplink(1000000)),
                                   receive_buffer=32768, imap_timeout="1")
        _, err = self.send()
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 1\)')
        self.assertNotContainsString(err, "Reconnecting")
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(1, proxy.connections)

    def test_server_slow_to_confirm_is_not_stored_twice(self):
        proxy = self.through_proxy(connections(lambda: SlowAppendReply(2.5)),
                                   imap_timeout="1")
        _, err = self.send(retcode=3)
        path = self.assertNotStored(err, "received the whole draft but did not"
                                    " confirm storing it within 1 seconds")
        self.assertEqual(1, proxy.connections)  # no second upload
        deadline = time.monotonic() + 10
        while not self.drafts() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(1, len(self.drafts()))  # the first one landed late
        _, err = self.run_bzr(["imap-send", path])
        self.assertContainsString(err, 'Already in "Drafts"')
        self.assertEqual(1, len(self.drafts()))

    def test_late_first_copy_is_removed_by_uid(self):
        # Another message, flagged \Deleted by the user, must survive: only
        # UID EXPUNGE of the extra copy, never a plain EXPUNGE.
        with self.server.client(USER) as client:
            client.append("Drafts", b"From: a@example.com\r\nSubject: mine\r\n"
                          b"Message-ID: <mine@example.com>\r\n\r\nx\r\n",
                          flags=[b"\\Deleted"])
        proxy = self.through_proxy(connections(CutBeforeReply, HideFirstSearchHit))
        _, err = self.send()
        self.assertContainsString(err, "removed the extra copy (UID 3)")
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 2\)')
        subjects = sorted(parse(raw)["Subject"] for _f, raw in self.drafts())
        self.assertEqual(["[MERGE] Say hello to the world", "mine"], subjects)
        self.assertEqual(2, proxy.connections)

    def test_courier_refuses_append_to_an_examined_folder(self):
        rules = []

        def courier(n):
            rules.append(CourierReadOnlyRule() if n else CutInsideLiteral())
            return rules[-1]

        self.through_proxy(courier)
        _, err = self.send()
        self.assertContainsString(err, "Reconnecting to check")
        self.assertEqual(1, len(self.drafts()))
        self.assertEqual(0, rules[1].refused)

    def test_imap_send_under_courier_rule(self):
        self.build_tree_contents([("note.eml", b"From: a@example.com\n"
                                   b"Subject: note\nMessage-ID: <n@x>\n\nHi\n")])
        rule = CourierReadOnlyRule()
        self.through_proxy(lambda n: rule)
        self.run_bzr(["imap-send", "note.eml"])
        self.assertEqual(0, rule.refused)
        self.assertEqual(1, len(self.drafts()))

    def test_a_refused_search_is_named_with_its_folder(self):
        class SearchRefused(Faults):
            """The server finds the search's criteria bad (the proxy garbles them)."""

            def from_client(self, chunk: bytes) -> bytes:
                return chunk.replace(b"SEARCH HEADER Message-ID", b"SEARCH BOGUS")

            def from_server(self, line: bytes) -> bytes:
                return line.replace(b" UIDPLUS", b"")  # the search, then the APPEND

        self.build_tree_contents([("note.eml", b"From: a@example.com\n"
                                   b"Subject: note\nMessage-ID: <n@x>\n\nHi\n")])
        self.through_proxy(lambda n: SearchRefused())
        _, err = self.run_bzr(["imap-send", "note.eml"], retcode=3)
        self.assertContainsRe(err, r'^brz: ERROR: The IMAP server 127.0.0.1 refused UID SEARCH'
                              r' \(folder "Drafts"\): Error in IMAP command UID SEARCH: [^\n]*'
                              r'BOGUS[^\n]*\.\n$')
        self.assertNotContainsString(err, "b'")
        self.assertEqual([], self.drafts())

    def test_message_id_substring_is_not_a_match(self):
        with self.server.client(USER) as client:
            client.append("Drafts", b"From: a@example.com\r\nSubject: other\r\n"
                          b"Message-ID: <xabc@example.com>\r\n\r\nx\r\n")
        self.configure(self.server)
        self.build_tree_contents([("note.eml", b"From: a@example.com\n"
                                   b"Subject: mine\nMessage-ID: abc@example.com\n"
                                   b"\nHi\n")])
        _, err = self.run_bzr(["imap-send", "note.eml"])
        self.assertContainsString(err, 'Draft saved to "Drafts" on 127.0.0.1 (UID 2): mine')
        self.assertEqual(["other", "mine"],
                         [parse(raw)["Subject"] for _f, raw in self.drafts()])


class TestAppendToAKnownFolder(TestFaultsAroundAppend):
    """With the folder known and SASL-IR and LITERAL+ offered, the APPEND
    and LOGOUT go in one turn once the login's OK came (the command alone,
    where the server must ask for the draft), never behind the login
    before it; every promise still holds."""

    def through_proxy(self, faults, receive_buffer=None, **options) -> RewritingProxy:
        return super().through_proxy(faults, receive_buffer,
                                     imap_mailbox="Drafts", **options)

    def sent_after_the_login(self, log: str) -> None:
        """Nothing behind AUTHENTICATE before its OK; APPEND and LOGOUT in
        the next turn."""
        turn = fixtures.turn_after_login(self, log)
        self.assertContainsRe(turn, r"imap C: \S+ APPEND .*\{\d+\+\}")
        self.assertContainsRe(turn, r"imap C: \S+ LOGOUT")

    def test_login_then_one_turn_each_way(self):
        counter = CountCommands()
        self.through_proxy(lambda n: counter)
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        self.sent_after_the_login(self.get_log())
        self.assertNotContainsString(self.get_log(), "credentials redacted>\n"
                                     "imap C: <literal")
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 1\)')
        self.assertEqual([b"AUTHENTICATE", b"APPEND", b"LOGOUT"],
                         counter.commands)
        (flags, raw), = self.drafts()
        self.assertIn(b"\\Draft", flags)
        self.assertEqual("[MERGE] Say hello to the world", parse(raw)["Subject"])

    def test_login_refused_costs_a_clear_error_only(self):
        self.through_proxy(lambda n: Faults())
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            "127.0.0.1", USER, "wrong password")
        _, err = self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature",
                              retcode=3)
        self.assertNotContainsRe(self.get_log(), r"imap C: \S+ APPEND")
        self.assertNotStored(err, "refused the login for alice: [AUTHENTICATIONFAILED]")
        self.assertEqual([], self.drafts())
        self.assertNotContainsString(self.get_log(), "wrong password")

    def test_draft_with_a_login_line_is_stored_as_text(self):
        self.through_proxy(lambda n: Faults())
        self.run_bzr(["-Dimap", "send", "../trunk", "--body",
                      "Hello\na1 LOGIN mallory secret\n"], working_dir="feature")
        # Only once logged in, as a literal the server parses (LITERAL+).
        self.assertContainsRe(fixtures.turn_after_login(self, self.get_log()),
                              r"imap C: \S+ APPEND [^\n]*\{\d+\+\}\n")
        (_flags, raw), = self.drafts()
        self.assertIn(b"a1 LOGIN mallory secret", raw)

    def test_server_slow_to_confirm_is_not_stored_twice(self):
        proxy = self.through_proxy(connections(lambda: SlowAppendReply(2.5)),
                                   imap_timeout="1")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "received the whole draft but did not"
                             " confirm storing it within 1 seconds")
        self.assertEqual(1, proxy.connections)

    def test_login_goes_before_a_greeting_without_capabilities(self):
        # GMail's way: no capabilities in the greeting, LITERAL-.  The first
        # connection asks for them; the next sends the login before the
        # greeting (it would tell nothing), the APPEND once logged in, and a
        # 10 KB draft as a synchronising literal, once the server asks.
        self.commit_big_file(6000)
        counters = [GreetingWhenSpokenTo() for _ in range(2)]
        self.through_proxy(lambda n: counters[n], imap_revisions="False")
        self.send()
        self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        self.assertEqual([False, True], [c.spoke_first for c in counters])
        self.assertEqual([b"CAPABILITY", b"AUTHENTICATE", b"APPEND", b"LOGOUT"],
                         counters[0].commands)
        self.assertEqual([b"AUTHENTICATE", b"APPEND", b"LOGOUT"], counters[1].commands)
        self.assertContainsRe(self.get_log(), r"imap C: \S+ AUTHENTICATE PLAIN <cred"
                              r"[^\n]*\n[^\n]*imap S: \* OK [^\n]*\n")
        self.assertContainsRe(fixtures.turn_after_login(self, self.get_log()),
                              r"^[^\n]*imap C: \S+ APPEND [^\n]*\{\d{5}\}\n$")
        self.assertEqual(2, len(self.drafts()))
        for _flags, raw in self.drafts():  # the bundle arrived whole
            bundle = parse(raw).get_payload()[-1].get_payload(decode=True)
            self.assertIn(b"# Begin bundle", bundle)
            self.assertGreater(len(bundle), 6000)

    def test_server_that_will_not_hear_a_client_before_greeting_it(self):
        # It cuts off a client that talks first: the login is sent again,
        # after the greeting, on a new connection; later sends wait for it.
        counters = [GreetingWhenSpokenTo(refuse=True) for _ in range(4)]
        proxy = self.through_proxy(lambda n: counters[n], imap_revisions="False")
        self.send()
        _, err = self.send()
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 2\)')
        self.assertEqual([False, True, False], [c.spoke_first for c in counters[:3]])
        self.send()
        self.assertEqual(4, proxy.connections)
        self.assertFalse(counters[3].spoke_first)
        self.assertEqual(3, len(self.drafts()))

    def test_login_refused_before_the_greeting(self):
        counters = [GreetingWhenSpokenTo() for _ in range(3)]
        proxy = self.through_proxy(lambda n: counters[n], imap_revisions="False")
        self.send()
        keyring.set_password("127.0.0.1", USER, "not the password")
        _, err = self.send(retcode=3)
        self.assertContainsRe(err, r"(?s)refused the login.*kept in")
        self.assertTrue(counters[1].spoke_first)
        # The capabilities are checked on a new connection: unchanged.
        self.assertEqual(3, proxy.connections)
        self.assertEqual([b"CAPABILITY"], counters[2].commands[:1])
        self.assertEqual(1, len(self.drafts()))

    def test_stale_remembered_capabilities_are_replaced(self):
        counters = [GreetingWithoutCapabilities(), WithoutInitialResponse(),
                    WithoutInitialResponse()]
        proxy = self.through_proxy(lambda n: counters[n], imap_revisions="False")
        self.send()  # remembers SASL-IR
        _, err = self.send()  # the server no longer offers it
        self.assertContainsRe(err, r'Draft saved to "Drafts" .*\(UID 2\)')
        self.assertEqual(3, proxy.connections)
        self.assertEqual([b"AUTHENTICATE", b"LOGOUT"], counters[1].commands)
        self.assertEqual([b"CAPABILITY", b"AUTHENTICATE", b"APPEND", b"LOGOUT"],
                         counters[2].commands)
        self.assertEqual(2, len(self.drafts()))
