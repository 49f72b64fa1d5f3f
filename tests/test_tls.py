"""TLS is verified, never weakened: Dovecot with certificates from a test CA."""

from __future__ import annotations

import os

from . import fixtures
from .fixtures import PASSWORD, USER
from .proxy import RewritingProxy


class TestTLS(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        self.ca = fixtures.TestCA(self)
        self.ca_path = self.ca.path
        fixtures.use_keyring(self, fixtures.MemoryKeyring())

    def start_tls_dovecot(self, *identities: str, expired: bool = False):
        server = fixtures.start_dovecot(self, tls_files=self.ca.server_files(
            *identities, expired=expired))
        import keyring

        keyring.set_password(server.host, USER, PASSWORD)
        return server

    def configure_tls(self, server, security: str, trust_ca: bool = True):
        port = server.imaps_port if security == "imaps" else server.port
        scheme = "imaps" if security == "imaps" else "imap"
        options = dict(imap_server="%s://127.0.0.1:%d" % (scheme, port),
                       imap_username=USER)
        options["imap_ca_certs"] = self.ca_path if trust_ca else ""
        self.configure(**options)

    def assertNoLoginAttempt(self, server):
        log = server.log()
        self.assertNotContainsString(log, "user=<%s>" % USER)
        self.assertNotContainsString(log, "Login:")

    def test_imaps_with_the_private_ca(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "imaps")
        _, err = self.send()
        self.assertContainsString(err, "Draft saved to \"Drafts\"")
        self.assertEqual(1, len(server.messages(USER, "Drafts")))

    def test_starttls_asks_capabilities_once_after_the_handshake(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "starttls")
        self.run_bzr(["-Dimap", "send", "../trunk"], working_dir="feature")
        sent = [line for line in self.get_log().splitlines() if "imap C:" in line]
        self.assertContainsRe(sent[0], r"imap C: \S+ STARTTLS$")
        self.assertEqual(1, len([line for line in sent
                                 if line.endswith(" CAPABILITY")]))
        self.assertEqual(1, len(server.messages(USER, "Drafts")))

    def test_plaintext_injected_after_starttls_is_refused(self):
        server = self.start_tls_dovecot()
        injected = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGINDISABLED\r\n"
        proxy = RewritingProxy((server.host, server.port), lambda line: (
            line + injected if b"Begin TLS" in line else line))
        self.addCleanup(proxy.close)
        self.configure(imap_server="imap://127.0.0.1:%d" % proxy.port,
                       imap_username=USER, imap_ca_certs=self.ca_path)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "plaintext after STARTTLS")
        self.assertNoLoginAttempt(server)

    def test_starttls_with_the_private_ca(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "starttls")
        self.send("-Dimap")
        # Capabilities seen before TLS are not trusted after it (RFC 2595).
        self.assertContainsRe(self.get_log(),
                              r"imap C: \S+ STARTTLS(.|\n)*imap C: \S+ CAPABILITY")
        self.assertEqual(1, len(server.messages(USER, "Drafts")))
        self.assertContainsRe(server.log(), "(Login|Logged in): user=<alice>.*TLS")

    def test_untrusted_ca_is_refused(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "imaps", trust_ca=False)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "certificate was refused",
                             "set imap_ca_certs")
        self.assertNoLoginAttempt(server)

    def test_untrusted_ca_with_starttls_sends_no_credentials(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "starttls", trust_ca=False)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "certificate was refused", "imap_ca_certs")
        self.assertNoLoginAttempt(server)

    def test_keyring_not_read_for_an_untrusted_server(self):
        """The password is looked up only once the certificate is checked."""
        for security in ("imaps", "starttls"):
            server = self.start_tls_dovecot()
            keyring = fixtures.use_keyring(self, fixtures.CountingKeyring())
            self.configure_tls(server, security, trust_ca=False)
            _, err = self.send(retcode=3)
            self.assertNotStored(err, "certificate was refused")
            self.assertEqual(0, keyring.lookups, security)
            self.configure_tls(server, security)
            keyring.set_password(server.host, USER, PASSWORD)
            self.send()
            self.assertEqual(1, keyring.lookups, security)

    def test_wrong_host_name_is_refused(self):
        server = self.start_tls_dovecot("imap.example.org")
        self.configure_tls(server, "imaps")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "certificate was refused",
                             "Set imap_server to a host name the certificate")
        self.assertNoLoginAttempt(server)

    def test_wrong_dns_name_is_refused(self):
        server = self.start_tls_dovecot("imap.example.org")
        self.configure(imap_server="imaps://localhost:%d" % server.imaps_port,
                       imap_username=USER, imap_ca_certs=self.ca_path)
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "Hostname mismatch",
                             "Set imap_server to a host name the certificate")

    def test_expired_certificate_is_refused(self):
        server = self.start_tls_dovecot(expired=True)
        self.configure_tls(server, "imaps")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "expired", "must be renewed")
        self.assertNoLoginAttempt(server)

    def test_missing_ca_file_is_a_setting_error(self):
        self.configure(imap_server="imap.example.org",
                       imap_ca_certs=os.path.abspath("nowhere.pem"))
        _, err = self.send(retcode=3)
        self.assertNotStored(err, 'Invalid imap_ca_certs', "no such file")

    def test_ca_file_that_is_not_pem(self):
        server = self.start_tls_dovecot()
        self.configure_tls(server, "imaps")
        with open(self.ca_path, "w") as f:
            f.write("not a certificate\n")
        _, err = self.send(retcode=3)
        self.assertNotStored(err, "Invalid imap_ca_certs", "not a PEM file")
