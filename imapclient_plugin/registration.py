"""Adds the ``imapclient`` mail client to Breezy's mail client registry.

Imported on the first lookup of the ``mail_client`` option (see the plugin's
``__init__``), because importing ``breezy.mail_client`` costs the email
package and must not happen when the plugin is loaded.
"""

from breezy import mail_client as _mail_client

MAIL_CLIENT_NAME = "imapclient"

if MAIL_CLIENT_NAME not in _mail_client.mail_client_registry:
    _mail_client.mail_client_registry.register_lazy(
        MAIL_CLIENT_NAME,
        __name__.rpartition(".")[0] + ".mail_client",
        "IMAPDraftClient",
        help="Store the message as a draft in an IMAP Drafts folder.",
    )

opt_mail_client = _mail_client.opt_mail_client
