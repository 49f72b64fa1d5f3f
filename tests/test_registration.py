"""The plugin registers lazily and imports nothing heavy at load time."""

from breezy import config, tests

from . import fixtures


class TestRegistration(tests.TestCase):

    def test_mail_client_option_accepts_imapclient(self):
        from ..imapclient_plugin.mail_client import IMAPDraftClient

        stack = config.MemoryStack(b"mail_client = imapclient")
        self.assertIs(IMAPDraftClient, stack.get("mail_client"))

    def test_options_have_help(self):
        for name in ("imap_server", "imap_username", "imap_mailbox",
                     "imap_security", "imap_timeout"):
            self.assertContainsRe(
                config.option_registry.get_help(name), "(?i)imap")

    def test_brz_plugins_shows_plain_words(self):
        out, _ = self.run_bzr(["plugins"])
        (line,) = [line for line in out.splitlines()
                   if "merge requests as drafts" in line]
        self.assertNotIn("``", line)  # reStructuredText's marks are for Sphinx

    def test_help_topic(self):
        from breezy import help_topics

        detail = help_topics.topic_registry.get_detail("imapclient")
        self.assertContainsString(detail, "brz config mail_client=imapclient")

    def test_loading_imports_no_heavy_module(self):
        # A fresh interpreter: what does loading the plugin pull in?
        loaded = fixtures.run_with_plugin(
            "print(' '.join(sorted(loaded)))\n").split()
        for heavy in ("imapclient", "keyring", "ssl", "email",
                      "breezy.mail_client"):
            self.assertNotIn(heavy, loaded)
        self.assertIn(fixtures.PLUGIN, loaded)

    def test_brz_sends_client_is_made_without_what_stores_the_draft(self):
        # brz send makes its mail client before it builds the bundle: what
        # talks IMAP is imported after, not under the bundle's peak.
        modules = fixtures.run_with_plugin(
            "stack = breezy.config.MemoryStack(b'mail_client = imapclient')\n"
            "client = stack.get('mail_client')(stack)\n"
            "print(type(client).__name__, ' '.join(sorted(sys.modules)))\n").split()
        self.assertEqual("IMAPDraftClient", modules[0])
        for heavy in ("imapclient", "imaplib", "keyring"):
            self.assertNotIn(heavy, modules)
        self.assertIn("breezy.mail_client", modules)
