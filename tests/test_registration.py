"""The plugin registers lazily and imports nothing heavy at load time."""

import os
import subprocess
import sys

from breezy import config, tests


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

    def test_help_topic(self):
        from breezy import help_topics

        detail = help_topics.topic_registry.get_detail("imapclient")
        self.assertContainsString(detail, "brz config mail_client=imapclient")

    def test_loading_imports_no_heavy_module(self):
        # A fresh interpreter: what does loading the plugin pull in?
        package = __name__.rsplit(".", 2)[0]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = (
            "import importlib.util, sys, breezy.config, breezy.help_topics\n"
            "import breezy.plugins\n"
            "before = set(sys.modules)\n"
            "spec = importlib.util.spec_from_file_location(%r, %r,"
            " submodule_search_locations=[%r])\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "sys.modules[spec.name] = module\n"
            "spec.loader.exec_module(module)\n"
            "print(' '.join(sorted(set(sys.modules) - before)))\n"
            % (package, os.path.join(root, "__init__.py"), root)
        )
        out = subprocess.run([sys.executable, "-c", code], check=True,
                             capture_output=True, text=True).stdout
        loaded = out.split()
        for heavy in ("imapclient", "keyring", "ssl", "email",
                      "breezy.mail_client"):
            self.assertNotIn(heavy, loaded)
        self.assertIn(package, loaded)
