"""imap_auth = xoauth2 / oauthbearer with imap_oauth2_token_command.

No OAuth2 provider can run here, so a proxy speaks the SASL exchange
(including RFC 7628's error challenge) in front of a real Dovecot.
"""

from __future__ import annotations

import os

from . import fixtures
from .fixtures import PASSWORD, USER
from .proxy import RewritingProxy
from .server_behaviours import OAuth2Server

TOKEN = "ya29.a0-test-access-token"


class TestOAuth2(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        fixtures.no_keyring(self)  # a token needs no keyring
        self.server = fixtures.start_dovecot(self)
        self.sasl = OAuth2Server(USER, TOKEN, PASSWORD)
        proxy = RewritingProxy((self.server.host, self.server.port),
                               faults=lambda n: self.sasl)
        self.addCleanup(proxy.close)
        self.build_tree_contents([("token", TOKEN.encode() + b"\n")])
        self.configure(self.server, imap_server="imap://127.0.0.1:%d" % proxy.port,
                       imap_oauth2_token_command="cat " + os.path.abspath("token"))

    def send_with(self, auth: str, retcode: int = 0):
        self.configure(imap_auth=auth)
        return self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature",
                            retcode=retcode, stdin="")

    def assertTokenNotShown(self, *outputs: str) -> None:
        for text in outputs + (self.get_log(),):
            self.assertNotContainsString(text, TOKEN)

    def test_xoauth2(self):
        _, err = self.send_with("xoauth2")
        self.assertEqual([b"XOAUTH2 user=alice\x01auth=Bearer %s\x01\x01"
                          % TOKEN.encode()], self.sasl.responses)
        self.assertContainsRe(self.get_log(),
                              r"imap C: \S+ AUTHENTICATE XOAUTH2 <credentials")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))
        self.assertTokenNotShown(err)

    def test_oauthbearer(self):
        self.send_with("oauthbearer")
        (response,) = self.sasl.responses
        self.assertStartsWith(response, b"OAUTHBEARER n,a=alice,\x01host=127.0.0.1\x01")
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_refused_token_answers_the_error_challenge(self):
        self.build_tree_contents([("token", b"expired-token\n")])
        _, err = self.send_with("oauthbearer", retcode=3)
        self.assertEqual([b"AQ=="], self.sasl.answers_to_error)  # RFC 7628: %x01
        self.assertNotStored(err, "refused the OAuth2 token for alice",
                             "invalid_token", "imap_oauth2_token_command")
        self.assertNotContainsString(err + self.get_log(), "expired-token")

    def test_refused_xoauth2_token_answers_with_an_empty_response(self):
        self.build_tree_contents([("token", b"expired-token\n")])
        self.send_with("xoauth2", retcode=3)
        self.assertEqual([b""], self.sasl.answers_to_error)

    def test_failing_token_command(self):
        self.configure(imap_oauth2_token_command="exit 2")
        _, err = self.send_with("xoauth2", retcode=3)
        self.assertNotStored(err, "imap_oauth2_token_command (exit 2) gave no"
                             " access token: exit status 2")

    def test_server_without_the_mechanism(self):
        self.configure(imap_server="imap://127.0.0.1:%d" % self.server.port)
        _, err = self.send_with("xoauth2", retcode=3)
        self.assertNotStored(err, "it does not offer AUTH=XOAUTH2")

    def test_token_command_is_required(self):
        self.configure(imap_oauth2_token_command="")
        _, err = self.send_with("xoauth2", retcode=3)
        self.assertNotStored(err, "imap_auth = xoauth2 needs a command")
