"""imap_* options turn into settings, or into errors naming the fix."""

from breezy import config, tests

from ..imapclient_plugin import errors
from ..imapclient_plugin.settings import read_settings


def settings_from(text: str, identity: str = "me@example.com"):
    return read_settings(config.MemoryStack(text.encode("utf-8")), identity)


class TestServerForms(tests.TestCase):

    def test_host_alone_is_imaps_993(self):
        s = settings_from("imap_server = imap.example.com")
        self.assertEqual(("imap.example.com", 993, "imaps"),
                         (s.host, s.port, s.security))

    def test_host_and_port(self):
        s = settings_from("imap_server = imap.example.com:1993")
        self.assertEqual(("imap.example.com", 1993, "imaps"),
                         (s.host, s.port, s.security))

    def test_imaps_url(self):
        s = settings_from("imap_server = imaps://mail.example.org")
        self.assertEqual(("mail.example.org", 993, "imaps"),
                         (s.host, s.port, s.security))

    def test_imap_url_means_starttls_143(self):
        s = settings_from("imap_server = imap://mail.example.org")
        self.assertEqual((143, "starttls"), (s.port, s.security))

    def test_imap_url_with_security_none(self):
        s = settings_from("imap_server = imap://127.0.0.1:10143\n"
                          "imap_security = none")
        self.assertEqual((10143, "none"), (s.port, s.security))
        self.assertTrue(s.is_loopback)

    def test_starttls_defaults_to_143(self):
        s = settings_from("imap_server = h.example\nimap_security = STARTTLS")
        self.assertEqual((143, "starttls"), (s.port, s.security))

    def test_ipv6_literal(self):
        s = settings_from("imap_server = [::1]:1143")
        self.assertEqual(("::1", 1143), (s.host, s.port))
        self.assertTrue(s.is_loopback)

    def test_remote_host_is_not_loopback(self):
        self.assertFalse(settings_from("imap_server = imap.gmail.com").is_loopback)


class TestDefaults(tests.TestCase):

    def test_username_defaults_to_identity_address(self):
        s = settings_from("imap_server = h.example", identity="me@example.com")
        self.assertEqual("me@example.com", s.username)

    def test_username_option_wins(self):
        s = settings_from("imap_server = h.example\nimap_username = who ever")
        self.assertEqual("who ever", s.username)

    def test_mailbox_and_timeout(self):
        s = settings_from("imap_server = h.example\n"
                          "imap_mailbox = Entwürfe\nimap_timeout = 2.5")
        self.assertEqual(("Entwürfe", 2.5), (s.mailbox, s.timeout))

    def test_default_mailbox_and_timeout(self):
        s = settings_from("imap_server = h.example")
        self.assertEqual((None, 60.0), (s.mailbox, s.timeout))


class TestBadSettings(tests.TestCase):

    def assertInvalid(self, text, option, needle):
        e = self.assertRaises(errors.InvalidSetting, settings_from, text)
        message = str(e)
        self.assertContainsRe(message, "brz config %s=" % option)
        self.assertContainsString(message, needle)
        return message

    def test_missing_server_names_the_command(self):
        e = self.assertRaises(errors.MissingServer, settings_from, "")
        self.assertContainsString(str(e), "brz config imap_server=")

    def test_blank_server(self):
        self.assertRaises(errors.MissingServer, settings_from,
                          "imap_server = '  '")

    def test_non_numeric_port(self):
        self.assertInvalid("imap_server = h.example:imap", "imap_server",
                           "port must be a number")

    def test_port_out_of_range(self):
        self.assertInvalid("imap_server = h.example:70000", "imap_server",
                           "port must be a number")

    def test_port_zero(self):
        self.assertInvalid("imap_server = h.example:0", "imap_server",
                           "port must be a number")

    def test_unknown_scheme(self):
        self.assertInvalid("imap_server = https://h.example", "imap_server",
                           "imaps:// or imap://")

    def test_url_with_path(self):
        self.assertInvalid("imap_server = imaps://h.example/INBOX",
                           "imap_server", "imap_mailbox")

    def test_url_with_user_info(self):
        self.assertInvalid("imap_server = imaps://me@h.example",
                           "imap_server", "imap_username")

    def test_unknown_security(self):
        self.assertInvalid("imap_server = h.example\nimap_security = ssl",
                           "imap_security", "imaps, starttls, none")

    def test_security_contradicting_scheme(self):
        self.assertInvalid("imap_server = imaps://h.example\n"
                           "imap_security = none", "imap_security", "contradicts")

    def test_bad_timeout(self):
        self.assertInvalid("imap_server = h.example\nimap_timeout = soon",
                           "imap_timeout", "seconds")

    def test_negative_timeout(self):
        self.assertInvalid("imap_server = h.example\nimap_timeout = -1",
                           "imap_timeout", "seconds")

    def test_wildcard_mailbox(self):
        self.assertInvalid("imap_server = h.example\nimap_mailbox = Dra*",
                           "imap_mailbox", "* or %")

    def test_no_username_and_no_identity(self):
        e = self.assertRaises(errors.InvalidSetting, read_settings,
                              config.MemoryStack(b"imap_server = h.example"),
                              None)
        self.assertContainsString(str(e), "brz config imap_username=")


class TestPlaintextWarning(tests.TestCase):

    def warnings_for(self, text):
        from ..imapclient_plugin.wire import connection

        warnings = []
        self.overrideAttr(connection.trace, "warning",
                          lambda fmt, *args: warnings.append(fmt % args))
        connection.warn_if_plaintext(settings_from(text))
        return warnings

    def test_plaintext_to_a_remote_host_warns(self):
        (warning,) = self.warnings_for(
            "imap_server = imap://mail.example.org\nimap_security = none")
        self.assertContainsString(warning, "mail.example.org unencrypted")

    def test_plaintext_on_loopback_is_quiet(self):
        self.assertEqual([], self.warnings_for(
            "imap_server = imap://localhost\nimap_security = none"))

    def test_tls_is_quiet(self):
        self.assertEqual([], self.warnings_for("imap_server = mail.example.org"))


class TestLoginQuoting(tests.TestCase):

    def test_user_name_is_an_imap_quoted_string(self):
        from ..imapclient_plugin.wire.login import _quoted

        self.assertEqual('"j \\"q\\" public"', _quoted('j "q" public'))
        self.assertEqual('"back\\\\slash"', _quoted("back\\slash"))
