"""Tests for the imapclient plugin: ``brz selftest -s bp.imapclient``."""

TEST_MODULES = [
    "test_settings",
    "test_message",
    "test_message_properties",
    "test_registration",
    "test_send",
    "test_tls",
    "test_faults",
    "test_imap_send",
    "test_store",
    "test_commands",
    "test_tunnel",
    "test_oauth2",
    "test_keyring_store",
    "test_gmail",
    "test_secrets",
    "test_secret_service",
    "test_hostile_input",
    "test_hostile_server",
    "test_unsent",
]


def load_tests(loader, basic_tests, pattern):
    basic_tests.addTest(
        loader.loadTestsFromModuleNames(
            ["%s.%s" % (__name__, name) for name in TEST_MODULES]
        )
    )
    return basic_tests
