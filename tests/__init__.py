"""Tests for the imapclient plugin: ``brz selftest -s bp.imapclient``."""

TEST_MODULES = [
    "test_settings",
    "test_message",
    "test_message_properties",
    "test_registration",
    "test_heap",
    "test_send",
    "test_send_failures",
    "test_tls",
    "test_faults",
    "test_lost_reply",
    "test_imap_send",
    "test_store",
    "test_commands",
    "test_tunnel",
    "test_oauth2",
    "test_keyring_store",
    "test_system_keyring",
    "test_wire",
    "test_gmail",
    "test_secrets",
    "test_secret_service",
    "test_hostile_input",
    "test_hostile_server",
    "test_unsent",
    "test_mail_program",
    "test_revisions",
    "test_own_drafts",
    "test_merge_requests",
    "test_every_server",
    "test_git_series",
    "test_git_am",
]


# Parts the tests use that a user's machine may lack (Debian has no pymap;
# a distribution's trustme or hypothesis may be missing): a module that
# needs one is skipped as a missing feature, with its name, and counted.
OPTIONAL_MODULES = ("hypothesis",)


def load_tests(loader, basic_tests, pattern):
    for name in TEST_MODULES:
        module = "%s.%s" % (__name__, name)
        try:
            basic_tests.addTest(loader.loadTestsFromModuleNames([module]))
        except ImportError as e:
            if e.name not in OPTIONAL_MODULES:
                raise
            basic_tests.addTest(loader.loadTestsFromTestCase(
                _needs_module(module, e.name)))
    return basic_tests


def _needs_module(module: str, missing: str):
    """A test standing for the tests of ``module``, which cannot be loaded
    without ``missing``: it reports the missing feature."""
    from breezy import tests
    from breezy.tests import features

    class NeedsModule(tests.TestCase):
        _test_needs_features = [features.ModuleAvailableFeature(missing)]

        def test_all_of_the_module(self):
            raise AssertionError("unreachable: %s is missing" % missing)

    NeedsModule.__module__ = module
    return NeedsModule
