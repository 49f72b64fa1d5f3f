"""The ``brz help imapclient`` topic."""

HELP_TEXT = """\
Storing ``brz send`` merge requests as IMAP drafts
==================================================

The imapclient plugin makes ``brz send`` store the merge directive as a
draft e-mail in the Drafts folder of an IMAP account (GMail, Fastmail,
Microsoft 365, Dovecot, any IMAP server).  Open your webmail, check the
draft, press send.

Set-up (any server)::

  brz config mail_client=imapclient
  brz config imap_server=imap.example.com
  brz config imap_username=me@example.com    # default: brz whoami's address
  brz imap-login                             # checks the password, keeps it in the keyring
  brz imap-check                             # tries every step, says what to fix

Then::

  brz send --mail-to=project@lists.example.org

From a git branch, ``brz send --format=git`` stores the commits as a patch
series: a ``[PATCH 0/N]`` cover letter and one ``[PATCH n/N]`` draft per
commit, threaded under it, as git format-patch --cover-letter --thread
writes them: git am makes the same commits of them, binary files, renames
and modes included.  A commit git am would give back otherwise (a first
paragraph of several lines, a subject starting with "[tag]" or "Re:", a
"---" line in its message) stops the send before anything is stored, and
says which and why; merge commits are left out, as git format-patch
leaves them out.

GMail (an app password; or OAuth2, below)::

  brz config imap_server=imap.gmail.com
  brz config imap_username=me@gmail.com
  brz imap-login

Fastmail (an app password with IMAP access)::

  brz config imap_server=imap.fastmail.com
  brz config imap_username=me@fastmail.com
  brz imap-login

Outlook / Microsoft 365 (OAuth2 only)::

  brz config imap_server=outlook.office365.com
  brz config imap_username=me@example.com
  brz config imap_auth=xoauth2
  brz config imap_oauth2_token_command="oama access me@example.com"

GMail with OAuth2::

  brz config imap_auth=xoauth2
  brz config imap_oauth2_token_command="oauth2l fetch --credentials ~/client.json --scope https://mail.google.com/"

Self-hosted Dovecot::

  brz config imap_server=mail.example.org      # imaps, port 993
  brz config imap_server=imap://mail.example.org   # or STARTTLS on 143
  brz config imap_ca_certs=/etc/ssl/my-ca.pem  # if its CA is private
  brz config imap_tunnel="ssh mail.example.org /usr/lib/dovecot/imap"  # or no password at all

Options (``brz help OPTION`` describes each): imap_server, imap_username,
imap_mailbox, imap_security, imap_timeout, imap_ca_certs,
imap_password_command, imap_tunnel, imap_auth, imap_oauth2_token_command,
imap_open_draft, imap_revisions, imap_new_thread.

Commands: imap-send (store .eml files, mboxes or patches as drafts; -
reads standard input), imap-folders (list the folders, marking where drafts
go), imap-login (check the password, then keep it in the keyring; --forget
deletes it), imap-check (try every step of the set-up and say what to
change).

Passwords come from imap_password_command if set, else the system keyring
(service = the server's host name, user = imap_username), then
authentication.conf (scheme=imap; password_encoding = keyring works there
for every Breezy transport), then a prompt; a typed password can be stored
in the keyring.

Certificates are always verified (host name included); imap_ca_certs adds
a private CA.  With imap_security=starttls nothing is sent unless STARTTLS
succeeds.

Each brz send of a merge request (a branch and its submit branch) is its
next revision: a draft not sent yet is replaced by the new one (stored
first; then the old one is moved to the Trash where the server can MOVE,
else removed by its UID, and only if it is still exactly the draft brz
stored); once it was sent (found in the \\Sent folder, by its Message-ID
or by the directive attached), the new draft replies to it, titled
[MERGE vN], so it is in the same thread, and lists the revisions added and
gone since.  A draft edited in webmail is left alone, and said so.
brz send -Oimap_new_thread=True starts afresh; imap_revisions=False turns
this off.

If the draft cannot be stored, the error says why and the complete message
is kept as a .eml file under Breezy's cache directory
(~/.cache/breezy/imapclient/unsent/).  Once the cause is fixed::

  brz imap-send ~/.cache/breezy/imapclient/unsent/FILE.eml

stores it; a message already in the folder, by its Message-ID (made from
the content when missing), is not stored twice.  If the connection drops
or stalls during the upload, brz send resets it, reconnects once, checks
before storing again, and removes an extra copy by UID afterwards; if the
server took the whole draft but did not confirm it in time, nothing is
uploaded again and the error says the draft may still appear.  A slow link
is not a timeout: imap_timeout counts from the last part the server took.

``brz -Dimap send`` logs the IMAP conversation, credentials redacted, to
Breezy's log (``brz version`` shows where).

Compared with git imap-send:

  ========================  ==============================  ========================
  ..                        brz imapclient                  git imap-send
  ========================  ==============================  ========================
  input                     brz send itself; .eml, mbox,    an mbox (git
                            patch or stdin (imap-send)      format-patch --stdout)
  drafts folder             found (\\Drafts flag, usual      imap.folder or --folder;
                            names), remembered, created     --list shows folders
  password                  keyring, password command,      git credential helpers,
                            authentication.conf, prompt     imap.pass, or a prompt
  OAuth2                    XOAUTH2, OAUTHBEARER            the same, git 2.51 on
  TLS                       always verified; private CA;    imap.sslverify can turn
                            STARTTLS never downgraded       checking off
  turns, whole connection   5 on Dovecot, 8 on GMail over   11 and 15 (measured on
                            TLS (APPEND and LOGOUT in one   the same servers)
                            turn where the server allows)
  failure                   message kept, retried without   message left in the input
                            duplicates (Message-ID)
  running twice             skips what is there             stores it all again
  next version              replaces the unsent draft, or   another draft, a new
                            replies to the sent one         thread
  diagnosis                 imap-check, imap-folders,       --list, -v
                            -Dimap (redacted)
  GMail                     prints or opens the draft       no
  tunnel                    imap_tunnel (PREAUTH)           imap.tunnel
  ========================  ==============================  ========================
"""
