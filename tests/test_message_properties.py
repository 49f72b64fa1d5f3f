"""Property tests: any subject, names, body and bytes survive the wire."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from breezy import tests

from ..imapclient_plugin.message import build_draft, draft_bytes
from ..imapclient_plugin.transfer_encoding import MAX_LINE_OCTETS
from .fixtures import attachment_bytes, parse

ANY_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.sampled_from([b"\x00", b"\r", b"\n", b"\r\n", b"\xff", b"a",
                              b"x" * 5000, "é".encode()]),
             max_size=20).map(b"".join),
)
NAMES = st.text(max_size=60)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def header_text(text: str) -> str:
    """What a header keeps of ``text``: one line, control characters gone."""
    kept = "".join(c for c in text
                   if c.isspace() or unicodedata.category(c) != "Cc")
    return " ".join(kept.split())


def no_space(text: str) -> str:
    return "".join(text.split())


class TestAnyInputSurvives(tests.TestCase):

    @PROPERTY_SETTINGS
    @given(subject=st.text(max_size=300), sender_name=NAMES, to_name=NAMES,
           body=st.text(max_size=2000), attachment=ANY_BYTES)
    @example(subject="", sender_name="", to_name="", body="", attachment=b"")
    @example(subject="x" * 2000, sender_name='"\\', to_name=",;<>@",
             body="y" * 6000, attachment=b"z" * 5000 + b"\r\x00")
    def test_round_trip(self, subject, sender_name, to_name, body, attachment):
        message = build_draft(
            sender='"%s" <sender@example.com>' % _quoted(sender_name),
            to='"%s" <to@example.org>' % _quoted(to_name),
            subject=subject, body=body, attachment=attachment,
            filename="x.patch")
        data = draft_bytes(message)

        self.assertTrue(data.endswith(b"\r\n"))
        for line in data[:-2].split(b"\r\n"):
            self.assertNotIn(b"\r", line)
            self.assertNotIn(b"\n", line)
            self.assertLessEqual(len(line), MAX_LINE_OCTETS)
        self.assertNotIn(b"\x00", data)

        parsed = parse(data)
        self.assertEqual(header_text(subject), parsed["Subject"])
        for header, name, address in (("From", sender_name, "sender@example.com"),
                                      ("To", to_name, "to@example.org")):
            (parsed_address,) = parsed[header].addresses
            self.assertEqual(address, parsed_address.addr_spec)
            # CPython's address parser keeps the folding space between two
            # adjacent encoded-words (RFC 2047 6.2 drops it; mail readers
            # do), so names are compared without white space.
            self.assertEqual(no_space(header_text(name)),
                             no_space(parsed_address.display_name))
        self.assertEqual(attachment, attachment_bytes(parsed))


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
