"""Store brz send merge requests as drafts in an IMAP Drafts folder.

Set ``mail_client = imapclient`` and ``imap_server`` in your configuration,
then ``brz send`` uploads the merge directive as a draft e-mail (flagged
``\\Draft``) so you can finish and send it from your webmail.  See
``brz help imapclient`` for the set-up.

Breezy loads every plugin for every command, so this file only registers
names: nothing here may import imapclient, keyring, ssl or email.
"""

version_info = (0, 1, 0, "dev", 0)

from breezy import commands as _commands  # noqa: E402  (already loaded by Breezy)
from breezy import config as _config  # noqa: E402
from breezy import help_topics as _help_topics  # noqa: E402

_IMPL = __name__ + ".imapclient_plugin"

for _option_name in (
    "imap_server",
    "imap_username",
    "imap_mailbox",
    "imap_security",
    "imap_timeout",
    "imap_ca_certs",
    "imap_password_command",
    "imap_tunnel",
    "imap_auth",
    "imap_oauth2_token_command",
    "imap_open_draft",
    "imap_revisions",
    "imap_new_thread",
):
    _config.option_registry.register_lazy(
        _option_name, _IMPL + ".options", "opt_" + _option_name
    )
del _option_name


def _register_mail_client() -> None:
    """Make ``mail_client = imapclient`` valid without importing email now.

    ``breezy.mail_client`` imports the email package, so instead of importing
    it we take over the lazy ``mail_client`` option: the first lookup imports
    our registration module, which adds the client and hands back Breezy's
    own option object.
    """
    import sys

    if "breezy.mail_client" in sys.modules:
        from .imapclient_plugin import registration  # noqa: F401
        return
    _config.option_registry.remove("mail_client")
    _config.option_registry.register_lazy(
        "mail_client", _IMPL + ".registration", "opt_mail_client"
    )


_register_mail_client()

_config.credential_store_registry.register_lazy(
    "keyring",
    _IMPL + ".keyring_store",
    "KeyringCredentialStore",
    help="The system keyring (service: the host, user: the user).",
)

for _command in ("cmd_imap_send", "cmd_imap_folders", "cmd_imap_login",
                 "cmd_imap_check"):
    _commands.plugin_cmds.register_lazy(_command, [], _IMPL + ".commands")
del _command

_help_topics.topic_registry.register_lazy(
    "imapclient", _IMPL + ".help", "HELP_TEXT", "Storing brz send drafts over IMAP"
)


def load_tests(loader, basic_tests, pattern):
    """Hook the plugin's tests into ``brz selftest -s bp.imapclient``."""
    basic_tests.addTest(loader.loadTestsFromModuleNames([__name__ + ".tests"]))
    return basic_tests
