"""The ``brz help imapclient`` topic."""

HELP_TEXT = """\
Storing ``brz send`` merge requests as IMAP drafts
==================================================

The imapclient plugin makes ``brz send`` store the merge directive as a
draft e-mail in the Drafts folder of an IMAP account (GMail, Fastmail,
Dovecot, any IMAP server).  Open your webmail, check the draft, press send.

Set-up::

  brz config mail_client=imapclient
  brz config imap_server=imap.gmail.com
  brz config imap_username=me@gmail.com      # default: brz whoami's address
  keyring set imap.gmail.com me@gmail.com    # or answer the prompt once

Then::

  brz send --mail-to=project@lists.example.org

Options (``brz help OPTION`` describes each): imap_server, imap_username,
imap_mailbox, imap_security, imap_timeout, imap_ca_certs,
imap_password_command, imap_tunnel, imap_auth, imap_oauth2_token_command,
imap_open_draft.

Commands: imap-send (store .eml files, mboxes or patches as drafts; -
reads standard input), imap-folders (list the
folders, marking where drafts go), imap-login (check the password, then
keep it in the keyring; --forget deletes it), imap-check (try every step
of the set-up and say what to change).

Passwords come from imap_password_command if set, else the system keyring
(service = the server's host name, user = imap_username), then
authentication.conf (scheme=imap), then a prompt; a typed password can be
stored in the keyring.

Certificates are always verified (host name included); imap_ca_certs adds
a private CA.  With imap_security=starttls nothing is sent unless STARTTLS
succeeds.

If the draft cannot be stored, the error says why and the complete message
is kept as a .eml file under Breezy's cache directory
(~/.cache/breezy/imapclient/unsent/).  Once the cause is fixed::

  brz imap-send ~/.cache/breezy/imapclient/unsent/FILE.eml

stores it (``brz help imap-send``); a message already in the folder, by its
Message-ID, is not stored twice.  If the connection drops during the upload,
brz send itself reconnects once and checks before storing again.

``brz -Dimap send`` logs the IMAP conversation, credentials redacted, to
Breezy's log (``brz version`` shows where).
"""
