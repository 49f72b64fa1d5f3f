"""The draft parses back to what was put in, on the wire rules of RFC 5322."""

import base64
import email
import email.policy
import os

from breezy import tests

from ..imapclient_plugin import transfer_encoding, unsent
from ..imapclient_plugin.draft_data import SPLICE_FROM, SplicedDraft, whole
from ..imapclient_plugin.message import (
    InvalidAddress, build_draft, draft_bytes)
from ..imapclient_plugin.transfer_encoding import (
    BASE64, BASE64_LINE_BYTES, MAX_LINE_OCTETS, PIECE_LINES, Payload, is_clean_text)

DIRECTIVE = b"# Bazaar merge directive format 2 (Bazaar 0.90)\n=== modified\n"


def build(**overrides):
    fields = dict(sender="Jane Dev <jane@example.com>",
                  to="list@example.org", subject="[MERGE] Fix it",
                  body=None, attachment=DIRECTIVE, filename="fix.patch")
    fields.update(overrides)
    return whole(draft_bytes(build_draft(**fields)))


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def attachment_of(message):
    (part,) = list(message.iter_attachments())
    return part


def decoded_attachment(part):
    """The attachment's bytes as a mail reader saves them (text: LF ends)."""
    data = part.get_payload(decode=True)
    if part["Content-Transfer-Encoding"] in ("7bit", "8bit", "quoted-printable"):
        data = data.replace(b"\r\n", b"\n")
    return data


class TestWireRules(tests.TestCase):

    def assertWireClean(self, data):
        self.assertTrue(data.endswith(b"\r\n"))
        lines = data.split(b"\r\n")
        for line in lines:
            self.assertNotIn(b"\n", line)
            self.assertNotIn(b"\r", line)
            self.assertLessEqual(len(line), MAX_LINE_OCTETS)
        self.assertNotIn(b"\x00", data)

    def test_plain_message(self):
        self.assertWireClean(build())

    def test_long_lines_nul_and_bare_cr_in_attachment(self):
        nasty = b"a" * 5000 + b"\n\x00\rb\r\n\xff\xfe" + b"c" * 3000
        data = build(attachment=nasty, body="x" * 3000)
        self.assertWireClean(data)
        part = attachment_of(parse(data))
        self.assertEqual("base64", part["Content-Transfer-Encoding"])
        self.assertEqual(nasty, decoded_attachment(part))

    def test_non_utf8_attachment_is_byte_exact(self):
        latin1 = "caf\xe9\n".encode("latin-1")
        part = attachment_of(parse(build(attachment=latin1)))
        self.assertEqual("base64", part["Content-Transfer-Encoding"])
        self.assertEqual(latin1, decoded_attachment(part))


class TestStructure(tests.TestCase):

    def test_headers(self):
        message = parse(build())
        self.assertEqual("Jane Dev <jane@example.com>", message["From"])
        self.assertEqual("list@example.org", message["To"])
        self.assertEqual("[MERGE] Fix it", message["Subject"])
        self.assertIsNotNone(message["Date"].datetime)
        self.assertContainsRe(message["Message-ID"], r"^<[^@>]+@example\.com>$")
        self.assertEqual("multipart/mixed", message.get_content_type())

    def test_headers_in_git_format_patch_order(self):
        names = [name for name, _value in parse(build()).items()]
        self.assertEqual(["From", "Date", "Subject", "To"], names[:4])

    def test_clean_directive_is_readable_text(self):
        part = attachment_of(parse(build()))
        self.assertEqual("text/x-patch", part.get_content_type())
        self.assertEqual("fix.patch", part.get_filename())
        self.assertEqual("7bit", part["Content-Transfer-Encoding"])
        self.assertEqual(DIRECTIVE, decoded_attachment(part))

    def test_utf8_directive_is_8bit_text(self):
        directive = "+ Grüße, ünïcode\n".encode("utf-8")
        part = attachment_of(parse(build(attachment=directive)))
        self.assertEqual("8bit", part["Content-Transfer-Encoding"])
        self.assertEqual(directive, decoded_attachment(part))

    def test_non_ascii_headers_are_rfc2047_encoded(self):
        data = build(sender="Zoë Développeur <zoe@example.com>",
                     to="Łukasz <l@example.org>, b@example.org",
                     subject="[MERGE] Ärger mit ünïcode")
        head = data.split(b"\r\n\r\n", 1)[0]
        self.assertTrue(head.isascii())
        self.assertContainsString(head.decode(), "=?utf-8?")
        message = parse(data)
        self.assertEqual("[MERGE] Ärger mit ünïcode", message["Subject"])
        self.assertEqual("Zoë Développeur", message["From"].addresses[0].display_name)
        self.assertEqual(["Łukasz", ""],
                         [a.display_name for a in message["To"].addresses])

    def test_empty_to_is_allowed(self):
        for to in (None, "", "   "):
            message = parse(build(to=to))
            self.assertIsNone(message["To"])

    def test_no_identity_means_no_from(self):
        message = parse(build(sender=None))
        self.assertIsNone(message["From"])
        self.assertContainsRe(message["Message-ID"], "@brz-imapclient.invalid>$")

    def test_newlines_cannot_inject_headers(self):
        message = parse(build(subject="[MERGE] a\r\nBcc: evil@example.com"))
        self.assertIsNone(message["Bcc"])
        self.assertEqual("[MERGE] a Bcc: evil@example.com", message["Subject"])
        self.assertRaises(InvalidAddress, build,
                          to="x@example.org\nBcc: evil@example.com")

    def test_control_characters_are_dropped_from_headers(self):
        message = parse(build(subject="[MERGE] a\x00b\x1b[31mc",
                              to='"Ev\x00il\x9b" <x@example.org>'))
        self.assertEqual("[MERGE] ab[31mc", message["Subject"])
        self.assertEqual("Evil", message["To"].addresses[0].display_name)

    def test_attachment_is_named_and_labelled_utf8(self):
        # mutt reads a text part without charset as US-ASCII; aerc and
        # alpine name the file from name=.
        for attachment, encoding in ((DIRECTIVE, "7bit"),
                                     ("# Caf\u00e9\n".encode(), "8bit"),
                                     ("# Caf\u00e9\r\n".encode(), "base64")):
            part = attachment_of(parse(build(attachment=attachment)))
            self.assertEqual(encoding, part["Content-Transfer-Encoding"])
            self.assertEqual("fix.patch", part.get_param("name"))
            self.assertEqual("utf-8", part.get_content_charset())
        part = attachment_of(parse(build(attachment=b"\xff\xfe binary\n")))
        self.assertIsNone(part.get_content_charset())  # not text we can name

    def test_body_text_is_kept(self):
        message = parse(build(body="Please merge.\nThanks, Zoë\n"))
        text = message.get_body(("plain",)).get_content()
        self.assertEqual("Please merge.\nThanks, Zoë\n",
                         text.replace("\r\n", "\n"))

    def test_default_body_says_what_is_attached(self):
        body = parse(build()).get_body(("plain",)).get_content()
        self.assertContainsString(body, "fix.patch")
        self.assertContainsString(body, "brz merge")

    def test_default_body_is_plain_7bit(self):
        message = parse(build())
        self.assertEqual("7bit",
                         message.get_body(("plain",))["Content-Transfer-Encoding"])


class TestCleanText(tests.TestCase):

    def test_clean(self):
        self.assertTrue(is_clean_text(b"a\nb\n"))

    def test_not_clean(self):
        for data in (b"a\r\n", b"a\x00\n", b"no final newline",
                     b"\xff\n", b"x" * (MAX_LINE_OCTETS + 1) + b"\n"):
            self.assertFalse(is_clean_text(data), data)

    def test_longest_allowed_line(self):
        self.assertTrue(is_clean_text(b"x" * MAX_LINE_OCTETS + b"\n"))

    def test_long_line_anywhere(self):
        long, ok = b"x" * (MAX_LINE_OCTETS + 1) + b"\n", b"x" * MAX_LINE_OCTETS + b"\n"
        for lines in ([long, ok], [ok, long], [ok, long, ok], [b"\n", long],
                      [ok, b"\n", long, b"\n"]):
            self.assertFalse(is_clean_text(b"".join(lines)), lines)
        self.assertTrue(is_clean_text(b"\n" + ok + b"\n" + ok))


class TestAttachmentSpliced(tests.TestCase):
    """The directive is written into the serialised message in place of a
    placeholder, in slices: every length and both encodings come out as
    the email package would write them."""

    def test_base64_lengths_around_a_line(self):
        for size in (1, 2, 3, 56, 57, 58, 114, 115, 57 * 16384 + 1):
            # Not UTF-8: base64.
            directive = (b"\xff" + bytes(range(256)) * (size // 256 + 1))[:size]
            part = attachment_of(parse(build(attachment=directive)))
            self.assertEqual("base64", part["Content-Transfer-Encoding"])
            self.assertEqual(directive, part.get_payload(decode=True), size)
            lines = part.get_payload().splitlines()
            self.assertTrue(all(len(line) == 76 for line in lines[:-1]), size)

    def test_base64_lines_as_the_email_package_writes_them(self):
        piece = BASE64_LINE_BYTES * PIECE_LINES
        for size in (1, 56, 57, 58, 57 * 3, piece - 1, piece, piece + 1,
                     2 * piece + 57, 3 * piece + 20):
            directive = os.urandom(size)
            expected = base64.encodebytes(directive).replace(b"\n", b"\r\n")
            spliced = b"".join(Payload(directive, BASE64, b"").encoded_slices())
            self.assertEqual(expected, spliced, size)
            self.assertEqual(len(expected), Payload(directive, BASE64, b"").encoded_size())

    def test_text_with_slices_of_lines(self):
        directive = b"# Bazaar merge directive format 2\n" + b"+a line\n" * 300000
        data = build(attachment=directive)
        part = attachment_of(parse(data))
        self.assertEqual("7bit", part["Content-Transfer-Encoding"])
        self.assertEqual(directive, decoded_attachment(part))
        self.assertNotIn(b"brz-imapclient-", data)

    def test_a_bundle_line_goes_quoted_printable(self):
        # A directive's bundle is base64 on one line, with no final newline:
        # quoted-printable breaks the line and costs a few percent.
        bundle = base64.b64encode(os.urandom(300000 + 1))  # "=" at its end
        piece = transfer_encoding.PIECE
        for directive in (
                DIRECTIVE + b"# Begin bundle\n" + bundle,
                b"x" * (piece - 1) + b" " + b"=\t\n" * 10 + b"\xc3\xa9" * 9 + b"y" * piece,
                (b"a  \n" + b"b" * 2000 + b" ") * (piece // 1000) + b"tail \n"):
            data = build(attachment=directive)
            part = attachment_of(parse(data))
            self.assertEqual("quoted-printable", part["Content-Transfer-Encoding"])
            self.assertEqual(directive, decoded_attachment(part))
            self.assertLess(len(data), len(directive) * 1.05 + 2000)
            self.assertTrue(all(len(line) <= 78 for line in data.split(b"\r\n")))
            self.assertNotIn(b"brz-imapclient-", data)

    def test_base64_where_quoted_printable_is_not_exact_or_smaller(self):
        long_line = b"x" * (MAX_LINE_OCTETS + 1)
        for directive in (long_line + b"\r\n",  # CR: a mail program's own line end
                          long_line + b"\xff\n",  # not UTF-8
                          "\u6f22\u5b57".encode("utf-8") * 1000 + b"\n"):  # 3x in QP
            part = attachment_of(parse(build(attachment=directive)))
            self.assertEqual("base64", part["Content-Transfer-Encoding"], directive[-20:])
            self.assertEqual(directive, part.get_payload(decode=True))

    def test_placeholder_is_gone(self):
        self.assertNotIn(b"brz-imapclient-", build(attachment=b"\xff\x00"))


class TestSplicedDraft(tests.TestCaseInTempDir):
    """A draft over SPLICE_FROM is made as it is read, a slice at a time."""

    def draft(self, directive: bytes):
        return draft_bytes(build_draft(
            sender="Jane Dev <jane@example.com>", to="list@example.org",
            subject="[MERGE] Big", body=None, attachment=directive,
            filename="big.patch"))

    def test_small_draft_is_whole(self):
        self.assertIsInstance(self.draft(b"\xff" * 700000), bytearray)

    def test_big_draft_reads_as_the_whole(self):
        for directive in (bytes(range(256)) * 12000,  # base64
                          b"+a line of a patch\n" * 150000,  # text
                          b"x" * 3000000):  # quoted-printable
            data = self.draft(directive)
            self.assertIsInstance(data, SplicedDraft)
            self.assertGreater(len(data), SPLICE_FROM)
            pieces = list(data.slices())
            self.assertGreater(len(pieces), 2)
            self.assertLess(max(len(piece) for piece in pieces), 1300000)
            whole_draft = bytes(data)
            self.assertEqual(len(data), len(whole_draft))
            self.assertEqual(whole_draft, b"".join(pieces))  # again, the same
            part = attachment_of(parse(whole_draft))
            self.assertEqual(directive, decoded_attachment(part))
            self.assertNotIn(b"brz-imapclient-", whole_draft)

    def test_kept_on_disk_whole(self):
        self.overrideEnv("XDG_CACHE_HOME", os.path.abspath("cache"))
        data = self.draft(os.urandom(2000000))
        path = unsent.keep_unsent(data, "big")
        with open(path, "rb") as f:
            self.assertEqual(bytes(data), f.read())
