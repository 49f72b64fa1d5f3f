"""Input from outside (commit messages, addresses, settings, files given to
imap-send) can neither add a header nor end in a traceback."""

from __future__ import annotations

import base64

from breezy import config, tests

from .fixtures import parse
from .test_faults import ProxiedDovecotTestCase
from .test_message import build
from ..imapclient_plugin import errors, message
from ..imapclient_plugin.inputs import messages_from
from ..imapclient_plugin.message import InvalidAddress, addresses, header_text
from ..imapclient_plugin.settings import read_settings
from .test_settings import settings_from

EXPECTED_HEADERS = ["From", "Date", "Subject", "To", "Message-ID", "User-Agent",
                    "MIME-Version", "Content-Type"]


def q(text: str) -> str:
    """An RFC 2047 Q-encoded word of ``text``."""
    return "=?utf-8?q?%s?=" % "".join(
        c if c.isalnum() else "=%02X" % ord(c) for c in text).replace("=20", "_")


def b(text: str) -> str:
    return "=?utf-8?b?%s?=" % base64.b64encode(text.encode()).decode()


INJECTED = "a\r\nBcc: evil@example.com"
# Encoded once, twice (decoding gives another encoded word), in B and Q,
# glued to text and in the middle of words.
HOSTILE_TEXTS = [
    q(INJECTED), b(INJECTED), q(q(INJECTED)), b(q(INJECTED)), q(b(q(INJECTED))),
    "x " + q(INJECTED) + " y", "x" + b(INJECTED) + "y",
    q("a\n") + " " + q("Bcc: evil@example.com"),
    "a\rBcc: evil@example.com", "a\x85Bcc: evil@example.com",
    "a\u2028Bcc: evil@example.com",
]


class TestHeaderInjection(tests.TestCase):
    """Every text that reaches a header: subject, To, From, file name."""

    def assertOnlyOurHeaders(self, data: bytes) -> None:
        """The header names are ours, in order (From may be left out: an
        identity that is no address is dropped), and none holds a line
        break once decoded."""
        head = data.split(b"\r\n\r\n", 1)[0]
        names = [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")
                 if not line[:1].isspace()]
        self.assertEqual([n for n in EXPECTED_HEADERS if n in names], names)
        self.assertEqual(len(EXPECTED_HEADERS) - 1, len(set(names) - {"From"}))
        parsed = parse(data)
        self.assertIsNone(parsed["Bcc"])
        for name, value in parsed.items():
            self.assertNotIn("\n", str(value), name)
            self.assertNotIn("\r", str(value), name)
        (part,) = list(parsed.iter_attachments())
        self.assertEqual(sorted(["Content-Type", "Content-Transfer-Encoding",
                                 "Content-Disposition", "MIME-Version"]),
                         sorted(part.keys()))

    def test_subject(self):
        for text in HOSTILE_TEXTS:
            data = build(subject="[MERGE] " + text)
            self.assertOnlyOurHeaders(data)
            self.assertContainsString(parse(data)["Subject"], "Bcc: evil@example.com")

    def test_to_display_name(self):
        for text in HOSTILE_TEXTS:
            to = "%s <list@example.org>" % text
            if "=?" not in text:  # a raw line break makes no address list
                self.assertRaises(InvalidAddress, build, to=to)
                continue
            data = build(to=to)
            self.assertOnlyOurHeaders(data)
            (to,) = parse(data)["To"].addresses  # an encoded name stays a name
            self.assertEqual("list@example.org", to.addr_spec)

    def test_sender_display_name(self):
        for text in HOSTILE_TEXTS:
            data = build(sender="%s <jane@example.com>" % text)
            self.assertOnlyOurHeaders(data)
            if "=?" in text:
                self.assertEqual("jane@example.com",
                                 parse(data)["From"].addresses[0].addr_spec)

    def test_attachment_file_name(self):
        for text in HOSTILE_TEXTS:
            data = build(filename="feature-%s.patch" % text)
            self.assertOnlyOurHeaders(data)
            self.assertNotIn("/", message.safe_filename("../../etc/" + text))

    def test_header_text_is_a_fixed_point_of_decoding(self):
        for text in HOSTILE_TEXTS:
            once = header_text(text)
            self.assertEqual(once, header_text(once))
            self.assertNotIn("\n", once)

    def test_check_headers_refuses_an_added_header(self):
        self.assertRaises(message.UnsafeHeader, message.check_headers,
                          b"Subject: a\r\nBcc: e@x.org\r\n\r\nbody", ["Subject"])


class TestAddresses(tests.TestCase):

    def test_refused(self):
        for text in ("a@", '"a" <', "<>", "x <a@b..c>", "undisclosed-recipients:;",
                     "Name", "a b@example.org"):
            e = self.assertRaises(InvalidAddress, addresses, text)
            self.assertTrue(e.reason)

    def test_accepted(self):
        found = addresses('Zoë <z@example.org>, "Doe, J" <j@example.org>, k@x.org')
        self.assertEqual(["z@example.org", "j@example.org", "k@x.org"],
                         [a.addr_spec for a in found])
        self.assertEqual(["Zoë", "Doe, J", ""], [a.display_name for a in found])

    def test_encoded_display_name_is_decoded_not_split(self):
        (found,) = addresses(q("Doe, J\r\nBcc: e@x.org") + " <j@example.org>")
        self.assertEqual("j@example.org", found.addr_spec)
        self.assertEqual("Doe, J Bcc: e@x.org", found.display_name)


class TestControlCharactersInSettings(tests.TestCase):

    def assertRefused(self, option, value):
        stack = config.MemoryStack(b"imap_server = h.example\n")
        stack.set(option, value)
        e = self.assertRaises(errors.InvalidSetting, read_settings, stack, "a@b.org")
        self.assertContainsString(str(e), "Invalid %s" % option)
        self.assertContainsString(str(e), "control character")
        self.assertNotIn("\r", str(e))
        self.assertNotIn("\n", str(e))

    def test_user_name_with_crlf(self):
        self.assertRefused("imap_username", "a\r\nA1 DELETE INBOX")

    def test_mailbox_with_escape(self):
        self.assertRefused("imap_mailbox", "Dr\x1b[2Jafts")

    def test_server_with_nul(self):
        self.assertRefused("imap_server", "imap.example.org\x00.evil")

    def test_host_names(self):
        for host in ("a..b", ".example.org", "x" * 64 + ".example.org",
                     "a" * 250 + ".org"):
            e = self.assertRaises(errors.InvalidSetting, settings_from,
                                  "imap_server = %s" % host)
            self.assertContainsString(str(e), "not a valid host name")


MBOX_WITH_FROM_IN_BODY = (
    b"From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
    b"From: A Dev <a@example.com>\nSubject: [PATCH 1/2] First\n\n"
    b"From the start, this line is body text.\n\nFrom here too.\n\n"
    b"From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\n"
    b"From: A Dev <a@example.com>\nSubject: [PATCH 2/2] Second\n\nTwo.\n")

MULTIPART_EML = (
    b"From: a@example.com\r\nSubject: kept\r\nMessage-ID: <kept-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain\r\n\r\nHi\r\n--XX--\r\n")


class TestImapSendInputs(tests.TestCase):

    def test_mbox_body_line_starting_with_from(self):
        found = messages_from(MBOX_WITH_FROM_IN_BODY, "series.mbox", None)
        self.assertEqual(2, len(found))
        first = parse(found[0].data)
        self.assertEqual("[PATCH 1/2] First", first["Subject"])
        self.assertContainsString(first.get_content(), "From here too.")

    def test_mbox_message_without_headers_is_a_clear_error(self):
        mbox = (b"From x Mon Sep 17 00:00:00 2001\nno headers here\n\n"
                b"From y Mon Sep 17 00:00:00 2001\nFrom: a@example.com\n"
                b"Subject: two\n\nbody\n")
        e = self.assertRaises(errors.InvalidInput, messages_from, mbox, "x.mbox", None)
        self.assertContainsString(str(e), "message 1 of the 2 in this mbox")

    def test_multipart_message_keeps_its_message_id(self):
        # Python 3.9, 3.10 and 3.11.2 flag it with a defect (gh-106186).
        (found,) = messages_from(MULTIPART_EML, "kept.eml", None)
        self.assertEqual("<kept-1@example.com>", found.message_id)
        self.assertEqual(MULTIPART_EML, found.data)

    def test_no_message_id_gets_a_stable_one(self):
        eml = b"From: a@example.com\nSubject: hand-written\n\nHello\n"
        first = messages_from(eml, "a.eml", None)[0].message_id
        self.assertEqual(first, messages_from(eml, "b.eml", None)[0].message_id)
        self.assertNotEqual(first, messages_from(eml + b"!\n", "a.eml", None)[0]
                            .message_id)

    def test_patch_gets_a_stable_message_id(self):
        patch = b"--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"
        first = messages_from(patch, "fix.diff", None)[0]
        again = messages_from(patch, "fix.diff", None)[0]
        self.assertEqual(first.message_id, again.message_id)
        self.assertEqual(first.message_id, parse(first.data)["Message-ID"])

    def test_non_ascii_message_id(self):
        eml = "From: a@example.com\nSubject: x\nMessage-ID: <é@example.com>\n\nb\n"
        e = self.assertRaises(errors.InvalidInput, messages_from,
                              eml.encode("utf-8"), "bad.eml", None)
        self.assertContainsString(str(e), "Cannot store bad.eml: its Message-ID")


class TestHostileSend(ProxiedDovecotTestCase):
    """The same through brz send and brz imap-send on a real Dovecot."""

    def setUp(self):
        super().setUp()
        self.configure(self.server)  # directly, no proxy

    def test_commit_message_cannot_add_a_header(self):
        self.make_feature_commit(q(INJECTED))
        self.send()
        ((_flags, raw),) = self.drafts()
        self.assertIsNone(parse(raw)["Bcc"])
        head = raw.split(b"\r\n\r\n", 1)[0]
        self.assertNotIn(b"\r\nBcc:", head)

    def make_feature_commit(self, text):
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        self.build_tree_contents([("feature/hello.txt", b"hello\nagain\n")])
        tree.commit(text)
        return tree

    def test_bad_mail_to_keeps_the_message(self):
        for to in ("a@", '"a" <', q("x\r\nBcc: e@x.org") + " <"):
            _, err = self.run_bzr(["send", "--mail-to=" + to, "../trunk"],
                                  working_dir="feature", retcode=3)
            self.assertNotStored(err, "Invalid recipient")
        self.assertEqual([], self.drafts())

    def test_imap_send_twice_of_a_series_without_message_ids(self):
        self.build_tree_contents([("series.mbox", MBOX_WITH_FROM_IN_BODY)])
        self.run_bzr(["imap-send", "series.mbox"])
        _, err = self.run_bzr(["imap-send", "series.mbox"])
        self.assertEqual(2, err.count('Already in "Drafts"'))
        self.assertEqual(2, len(self.drafts()))

    def test_imap_send_of_a_kept_multipart_message(self):
        self.build_tree_contents([("kept.eml", MULTIPART_EML)])
        self.run_bzr(["imap-send", "kept.eml"])
        ((_flags, raw),) = self.drafts()
        self.assertEqual("<kept-1@example.com>", parse(raw)["Message-ID"])

    def test_imap_send_of_bad_input_is_one_paragraph(self):
        self.build_tree_contents([
            ("bad.eml", "From: a@example.com\nSubject: x\nMessage-ID: <é@x>\n\nb\n"
             .encode("utf-8"))])
        _, err = self.run_bzr(["imap-send", "bad.eml"], retcode=3)
        self.assertNotContainsString(err, "Traceback")
        self.assertContainsRe(err, "^brz: ERROR: Cannot store bad.eml")
