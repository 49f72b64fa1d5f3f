"""Configuration options, registered lazily by the plugin's ``__init__``.

Values are kept as strings here and validated in ``settings`` so that a bad
value gives an error naming the option and the command that fixes it.
"""

from breezy.config import Option, bool_from_store

opt_imap_server = Option(
    "imap_server",
    default=None,
    help="""\
IMAP server that ``brz send`` stores drafts on (mail_client = imapclient).

One of ``host``, ``host:port``, ``imaps://host[:port]`` (TLS from the
start, port 993 by default) or ``imap://host[:port]`` (STARTTLS, or
plaintext with imap_security = none; port 143 by default).
Example: ``brz config imap_server=imap.gmail.com``.
""",
)

opt_imap_username = Option(
    "imap_username",
    default=None,
    help="""\
User name to log in to imap_server with.

Defaults to the e-mail address of your Breezy identity (``brz whoami``).
""",
)

opt_imap_mailbox = Option(
    "imap_mailbox",
    default=None,
    help="""\
IMAP folder that drafts are stored in (mail_client = imapclient).

By default the folder the server flags as \\Drafts (RFC 6154) is used, else
a folder with a common drafts name (Drafts, INBOX.Drafts, [Gmail]/Drafts);
if there is none, Drafts is created.  Non-ASCII names are fine.
""",
)

opt_imap_security = Option(
    "imap_security",
    default=None,
    help="""\
How the connection to imap_server is protected.

``imaps`` (default): TLS from the start, port 993.
``starttls``: plaintext port 143 upgraded with STARTTLS; the send is
aborted before logging in if the server does not offer it.
``none``: no encryption at all.  Only used when set explicitly; a warning
is given unless the server is on this machine (loopback).
""",
)

opt_imap_timeout = Option(
    "imap_timeout",
    default=None,
    help="""\
Seconds the IMAP server may take to answer before brz gives up (default 60).

Counted from each request, or from the last part of an upload the server
took: a slow link is not a timeout, a server that stops taking the draft
or drips its answer is.  Applies to imap_tunnel too.
""",
)

opt_imap_ca_certs = Option(
    "imap_ca_certs",
    default=None,
    help="""\
A PEM file of CA certificates trusted for imap_server, besides the system's.

For a self-hosted server whose certificate comes from a private CA.
Certificates are always verified, host name included, for imaps and
starttls; this option adds trust, it never turns checking off.
""",
)

opt_imap_password_command = Option(
    "imap_password_command",
    default=None,
    help="""\
A shell command that prints the IMAP password (its first line is used).

For password managers, like mbsync's PassCmd: ``pass show mail/imap``,
``op read op://Private/IMAP/password``, ``secret-tool lookup ...``.  When
set, it is used instead of the keyring and authentication.conf.  What it
prints is never logged or stored.
""",
)

opt_imap_tunnel = Option(
    "imap_tunnel",
    default=None,
    help="""\
A command to speak IMAP through, on its standard input and output, instead
of connecting to imap_server (like git imap-send's imap.tunnel).

For example ``ssh mail.example.org /usr/lib/dovecot/imap``: the server runs
logged in as you (PREAUTH), so no password is needed.  The command provides
the transport and its security; imap_security does not apply.
""",
)

opt_imap_auth = Option(
    "imap_auth",
    default=None,
    help="""\
How to authenticate: ``password`` (default), ``xoauth2`` or ``oauthbearer``.

GMail and Microsoft 365 accounts that refuse passwords take an OAuth2
access token instead: set imap_auth = xoauth2 (GMail, Outlook) or
oauthbearer (RFC 7628) and imap_oauth2_token_command.
""",
)

opt_imap_oauth2_token_command = Option(
    "imap_oauth2_token_command",
    default=None,
    help="""\
A shell command that prints a fresh OAuth2 access token (first line used),
for imap_auth = xoauth2 or oauthbearer.  For example
``oauth2l fetch --credentials ~/client.json --scope https://mail.google.com/``.
What it prints is never logged or stored.
""",
)

opt_imap_open_draft = Option(
    "imap_open_draft",
    default=False,
    from_unicode=bool_from_store,
    help="""\
Open the stored draft in the web browser (GMail: the server announces
X-GM-EXT-1, so brz send prints a link to the draft in any case).
""",
)

opt_imap_revisions = Option(
    "imap_revisions",
    default=True,
    from_unicode=bool_from_store,
    help="""\
Treat each brz send of a merge request (a branch and its submit branch) as
its next revision (default True): a draft not sent yet is replaced by the
new one (moved to the Trash, and only if unchanged), and once it was sent
the new one is a reply to it, titled [MERGE vN], listing the revisions
added and gone since.  False: every brz send adds a draft of its own.
""",
)

opt_imap_new_thread = Option(
    "imap_new_thread",
    default=False,
    from_unicode=bool_from_store,
    help="""\
Start the merge request afresh: the draft is not a revision of the last
one (which is left as it is).  For one send: brz send -Oimap_new_thread=True.
""",
)
