"""The password appears nowhere but the keyring, even with debug flags."""

from __future__ import annotations

import base64
import os
import re

from . import fixtures
from .fixtures import USER
from .proxy import Faults, RewritingProxy, hide_capability

SECRET = "Sëcret-p@ss \"quoted\" 42"
DEBUG = ["-Dimap", "-Derror"]


def secret_forms() -> list[bytes]:
    """The password as it could leak: plain, quoted, or inside SASL PLAIN."""
    plain = SECRET.encode("utf-8")
    sasl = b"\0" + USER.encode() + b"\0" + plain
    return [plain, plain.replace(b'"', b'\\"'), base64.b64encode(sasl),
            base64.b64encode(plain)]


class TestNoLeaks(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.keyring = fixtures.use_keyring(self, fixtures.MemoryKeyring())

    def use_dovecot(self, **dovecot_options):
        server = fixtures.start_dovecot(self, users={USER: SECRET},
                                        **dovecot_options)
        self.configure(server)
        return server

    def assertNoSecretAnywhere(self, *outputs: str) -> None:
        texts = [o.encode("utf-8") for o in outputs]
        texts.append(self.get_log().encode("utf-8"))  # Breezy's log (brz.log)
        for top in (self.test_home_dir, self.test_dir):
            for folder, _dirs, files in os.walk(top):
                for name in files:
                    with open(os.path.join(folder, name), "rb") as f:
                        texts.append(f.read())
        for form in secret_forms():
            for text in texts:
                self.assertNotIn(form, text)

    def send_debug(self, retcode=0, stdin=None, flags=DEBUG):
        return self.run_bzr(
            flags + ["send", "--mail-to=list@example.org", "../trunk"],
            working_dir="feature", retcode=retcode, stdin=stdin)

    def use_login_only_server(self, password: str):
        """Dovecot behind a proxy that hides AUTH=PLAIN: LOGIN is all left."""
        server = fixtures.start_dovecot(self, users={USER: password})
        self.configure_through_proxy(server, hide_capability(b"AUTH=PLAIN"))
        self.keyring.set_password("127.0.0.1", USER, password)
        return server

    def test_trace_shows_the_conversation_not_the_password(self):
        server = self.use_dovecot()
        self.keyring.set_password(server.host, USER, SECRET)
        out, err = self.send_debug()
        log = self.get_log()
        self.assertContainsRe(log, r"imap C: \S+ AUTHENTICATE PLAIN "
                                   r"<credentials redacted>")
        self.assertContainsRe(log, r'imap C: \S+ APPEND "Drafts" '
                                   r"\(\\Draft \\Seen\) \{\d+\+\}")
        self.assertContainsRe(log, r"imap C: <literal, \d+ bytes>")
        self.assertContainsRe(log, r"imap S: \S+ OK \[APPENDUID")
        # The greeting carried the capabilities: no round trip to ask again.
        self.assertNotContainsRe(log, r"imap C: \S+ CAPABILITY")
        self.assertNoSecretAnywhere(out, err)

    def test_a_refusal_that_says_the_login_back_shows_none_of_it(self):
        server = fixtures.start_dovecot(self, users={USER: SECRET})
        self.keyring.set_password("127.0.0.1", USER, SECRET)
        proxy = RewritingProxy((server.host, server.port), faults=lambda n: EchoTheLogin())
        self.addCleanup(proxy.close)
        self.configure(server, imap_server="imap://127.0.0.1:%d" % proxy.port)
        out, err = self.send_debug(retcode=3)
        self.assertContainsString(err, "Authentication failed for <credentials redacted>")
        self.assertContainsRe(self.get_log(), r"imap S: \S+ NO \[AUTHENTICATIONFAILED\]"
                              r" Authentication failed for <credentials redacted>")
        self.assertNoSecretAnywhere(out, err)

    def test_login_command_is_redacted(self):
        # LOGIN cannot carry non-ASCII: this server offers nothing else.
        ascii_secret = SECRET.replace("ë", "e")
        server = self.use_login_only_server(ascii_secret)
        out, err = self.send_debug()
        self.assertContainsRe(self.get_log(),
                              r"imap C: \S+ LOGIN <credentials redacted>")
        self.assertEqual(1, len(server.messages(USER, "Drafts")))
        for text in (out, err, self.get_log()):
            self.assertNotContainsString(text, ascii_secret)
            self.assertNotContainsString(text, ascii_secret.replace('"', '\\"'))

    def test_non_ascii_password_without_auth_plain_is_a_clear_error(self):
        self.use_login_only_server(SECRET)
        out, err = self.send_debug(retcode=3, flags=["-Dimap"])
        self.assertNotStored(err, "offers only the LOGIN command", "non-ASCII")
        self.assertNoSecretAnywhere(out, err)

    def test_failed_login_leaks_nothing(self):
        self.use_dovecot()
        self.keyring.set_password("127.0.0.1", USER, SECRET + "-wrong")
        out, err = self.send_debug(retcode=3)
        self.assertContainsString(err, "refused the login")
        self.assertNoSecretAnywhere(out, err)
        self.assertNotContainsString(out + err + self.get_log(), "-wrong")

    def test_prompted_password_leaks_nothing_outside_the_keyring(self):
        server = self.use_dovecot()
        out, err = self.send_debug(stdin=SECRET + "\ny\n")
        self.assertEqual({(server.host, USER): SECRET}, self.keyring.passwords)
        self.assertNoSecretAnywhere(out, err)


class EchoTheLogin(Faults):
    """A server whose refusal says back the SASL response it was sent."""

    def __init__(self) -> None:
        self.sent: dict = {}  # tag: the AUTHENTICATE PLAIN response

    def from_client(self, chunk: bytes) -> bytes:
        self.sent.update(re.findall(rb"(?m)^(\S+) AUTHENTICATE PLAIN (\S+)\r$", chunk))
        return chunk

    def from_server(self, line: bytes) -> bytes:
        for tag, response in self.sent.items():
            if line.startswith(tag + b" OK"):
                return (tag + b" NO [AUTHENTICATIONFAILED] Authentication failed for "
                        + response + b"\r\n")
        return line
