"""Errors a user can act on: each says what failed and what to change.

All are ``BzrError`` subclasses, so ``brz`` prints them as one paragraph
with a non-zero exit and no traceback.  None ever contains a password.
They are raised with the keyword arguments their ``_fmt`` names.
"""

import unicodedata

from breezy.errors import BzrError


def printable(text: str) -> str:
    """Text from outside (a server, a file, a setting) made safe to print:
    control characters (escape sequences included) and format characters
    (bidi overrides such as U+202E, which reorder what follows them) are
    shown as \\xNN or \\uNNNN."""
    return "".join(_escaped(c) if unicodedata.category(c) in HIDDEN_CATEGORIES else c
                   for c in text)


HIDDEN_CATEGORIES = ("Cc", "Cf")  # control, format


def _escaped(character: str) -> str:
    code = ord(character)
    if code < 0x100:
        return "\\x%02x" % code
    return "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


class IMAPDraftError(BzrError):
    """Base class: anything that stops a draft from being stored."""


class MissingServer(IMAPDraftError):
    _fmt = (
        "No IMAP server is configured for mail_client = imapclient."
        " Set one (brz config imap_server=imap.example.com)."
    )


class InvalidSetting(IMAPDraftError):
    _fmt = (
        'Invalid %(option)s "%(value)s": %(reason)s.'
        " Fix it (brz config %(option)s=%(example)s)."
    )

    def __init__(self, option: str, value: str, reason: str, example: str) -> None:
        super().__init__(option=option, value=printable(value), reason=reason,
                         example=example)


class ServerNotFound(IMAPDraftError):
    _fmt = (
        "Cannot find the IMAP server %(host)s (%(reason)s)."
        " Check the host name in imap_server and your network."
    )


class ConnectionFailed(IMAPDraftError):
    _fmt = (
        "Cannot connect to the IMAP server %(host)s port %(port)d: %(reason)s."
        " Check imap_server (host and port) and that the server is up."
    )


class ConnectionTimedOut(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s port %(port)d did not answer within"
        " %(timeout)g seconds. Check imap_server and imap_security (a TLS port"
        " spoken to in plaintext, or the reverse, can hang), or raise"
        " imap_timeout."
    )


class ConnectionLost(IMAPDraftError):
    _fmt = "The connection to the IMAP server %(host)s was lost: %(reason)s."


class AppendUnconfirmed(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s received the whole draft but did not confirm"
        ' storing it within %(timeout)g seconds, so it may still appear in'
        ' "%(folder)s". brz did not upload it again, which could make two'
        " drafts: look in the folder later (brz imap-send of the kept message"
        " stores it only if it is not there), and raise imap_timeout for a"
        " slow server."
    )


class TLSFailed(IMAPDraftError):
    _fmt = (
        "TLS with the IMAP server %(host)s port %(port)d failed: %(reason)s."
        " Nothing was sent. %(hint)s"
    )


class StartTLSNotOffered(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s does not offer STARTTLS, so nothing was"
        " sent to it. Use imap_security=imaps (port 993) if it supports TLS,"
        " or imap_security=none on a network you trust."
    )


class TunnelFailed(IMAPDraftError):
    _fmt = (
        "imap_tunnel (%(command)s) did not speak IMAP: %(reason)s. Run the"
        " command yourself: it should print an IMAP greeting (* PREAUTH ...)."
    )


class LoginRefused(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s refused the login for %(user)s: %(reason)s."
        " Check imap_username and the password (GMail and Fastmail want an"
        " app password): brz imap-login asks for it, checks it and keeps it in"
        " the keyring."
    )


class CannotSendCredentials(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s offers only the LOGIN command, which cannot"
        " carry a user name or password with non-ASCII characters (it does"
        " not offer AUTHENTICATE PLAIN). Use an ASCII password (an app"
        " password), or enable AUTH=PLAIN on the server."
    )


class NoLoginMethod(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s has disabled LOGIN (LOGINDISABLED) and"
        " offers %(offered)s, while brz speaks AUTH=PLAIN, XOAUTH2 and"
        " OAUTHBEARER. If it offers XOAUTH2 or OAUTHBEARER, set imap_auth and"
        " imap_oauth2_token_command; otherwise ask its administrator to enable"
        " AUTH=PLAIN (over TLS). Nothing was sent."
    )


class UnsendableSecret(IMAPDraftError):
    _fmt = (
        "The %(what)s for %(user)s on %(host)s contains a control character"
        " (a line break, NUL or ^A) that %(method)s cannot carry, so it was"
        " not sent. Check what the keyring, imap_password_command or the"
        " token command returns."
    )


class SecretCommandFailed(IMAPDraftError):
    _fmt = (
        "%(option)s (%(command)s) gave no %(what)s: %(reason)s."
        " Run it yourself to see why, or fix it (brz config %(option)s=...)."
    )


class TokenRefused(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s refused the OAuth2 token for %(user)s:"
        " %(reason)s. Check that imap_oauth2_token_command prints a fresh"
        " access token with the mail scope (GMail: https://mail.google.com/;"
        " Microsoft 365: IMAP.AccessAsUser.All) and that imap_auth (%(auth)s)"
        " is what the server offers."
    )


# Where there is no keyring to keep the password in (a headless server).
WITHOUT_KEYRING = (
    "Without a keyring, brz reads the password from a command: brz config"
    ' imap_password_command="pass show mail/imap" (pass, or any password'
    " manager's command line), or imap_password_command=\"cat"
    ' ~/.config/brz-imap-password" with a file only you can read (chmod 600);'
    " or from Breezy's authentication.conf (a section with scheme = imap,"
    " host, user and password; chmod 600 it)."
)
WITH_KEYRING = "Store one with brz imap-login, which checks it first."


class NoPassword(IMAPDraftError):
    _fmt = (
        "No password for %(user)s on the IMAP server %(host)s: %(keyring)s,"
        " none in authentication.conf, and none was entered. %(advice)s"
    )


class NoUsableKeyring(IMAPDraftError):
    _fmt = (
        "No usable keyring (%(reason)s). On a desktop, run and unlock a Secret"
        " Service (gnome-keyring, KeePassXC) or KWallet. " + WITHOUT_KEYRING
    )


class MailboxRefused(IMAPDraftError):
    _fmt = (
        'The IMAP server %(host)s refused the folder "%(mailbox)s": %(reason)s.'
        " Check imap_mailbox, or remove it to use the server's Drafts folder."
    )


class ServerRefused(IMAPDraftError):
    _fmt = "The IMAP server %(host)s refused %(action)s: %(reason)s."


class ServerGarbled(IMAPDraftError):
    _fmt = (
        "The IMAP server %(host)s sent a reply that is not valid IMAP during"
        " %(action)s (%(reason)s), so brz stopped. Run brz -Dimap to log the"
        " conversation, and report it to the server's administrator."
    )


class DraftTooBig(IMAPDraftError):
    _fmt = (
        "The draft is %(size)d bytes, but the IMAP server %(host)s accepts"
        " messages of at most %(limit)d bytes (%(why)s), so nothing was"
        " uploaded. Send less: set the branch's public location (brz config"
        " public_branch=URL, where the revisions are pushed) and brz send"
        " leaves the revisions out, or send fewer revisions with -r."
    )


class InvalidInput(IMAPDraftError):
    _fmt = "Cannot store %(name)s: %(reason)s. Nothing from it was stored."


class SupersededDraft(IMAPDraftError):
    _fmt = (
        "%(name)s holds a draft of the merge request %(request)s that a later"
        " version replaced (%(newer)s). Nothing from it was stored. To store it"
        " anyway, as a draft of its own: brz imap-send --superseded %(name)s"
    )


class InvalidRecipient(IMAPDraftError):
    _fmt = (
        'Invalid recipient "%(value)s": %(reason)s. Give addresses like'
        ' "Name <user@example.com>", separated by commas, with --mail-to (or'
        " the submit_to / child_submit_to setting) and send again, or add the"
        " recipient in your mail program."
    )


class UnsafeDraft(IMAPDraftError):
    _fmt = (
        "The draft was not stored: its headers would not be the ones brz"
        " wrote (%(reason)s), which text from the branch must never cause."
        " Please report this to brz-imapclient."
    )


class PublicBranchBehind(IMAPDraftError):
    _fmt = (
        "The draft is too big for the server, and its public location"
        " %(public)s does not have the revisions yet, so it cannot be sent"
        " without them either: push there (brz push), then send again."
    )


class CannotRead(IMAPDraftError):
    _fmt = "Cannot read %(path)s: %(reason)s."


class DraftNotStored(IMAPDraftError):
    _fmt = (
        "%(reason)s The message is kept in %(path)s; once fixed, store it"
        " with: brz imap-send %(path)s"
    )

    def __init__(self, reason: IMAPDraftError, path: str) -> None:
        super().__init__(reason=str(reason), path=path)
        self.cause = reason


class TooBigKept(DraftNotStored):
    """A draft that will never fit the server as it is: kept, but not
    offered to brz imap-send."""

    _fmt = (
        "%(reason)s The message is kept in %(path)s (for a mail program; as"
        " it is, this server will never take it)."
    )


class DraftNotKept(IMAPDraftError):
    _fmt = (
        "%(reason)s The message could not be kept either (%(keep_error)s), so"
        " nothing was saved: free some disk space and run brz send again."
    )


class InterruptedAtThePrompt(IMAPDraftError):
    _fmt = (
        "brz was stopped by %(signal)s while it asked for the IMAP password:"
        " nothing was sent to the server."
    )


class Interrupted(IMAPDraftError):
    _fmt = (
        "brz was stopped by %(signal)s while storing the draft, which may or"
        " may not have arrived (brz imap-send of the kept message stores it"
        " only if it is not there)."
    )


class NothingToSend(IMAPDraftError):
    _fmt = (
        "Nothing to send: %(target)s already has every revision of this"
        " branch, so no draft was stored. Commit the change first, or name"
        " another submit branch (brz send SUBMIT_BRANCH)."
    )

    def __init__(self, target: str) -> None:
        super().__init__(target=printable(target))


class PatchWithoutCommit(IMAPDraftError):
    _fmt = (
        "Breezy made the patch %(name)s of this series without the line that"
        ' names its commit ("From <commit> ..."), so the series would go'
        " without it. Nothing was stored. Send the branch as a bundle (brz"
        " send without --format=git), and report this with your Breezy version."
    )

    def __init__(self, name: str) -> None:
        super().__init__(name=printable(name))


class CommitNotSendable(IMAPDraftError):
    _fmt = (
        'Commit %(commit)s ("%(summary)s") cannot go as a patch that git am'
        " turns back into the same commit: %(reason)s. Nothing was stored."
        " Reword the commit (git commit --amend, git rebase -i) or send the"
        " branch as a bundle (brz send without --format=git)."
    )

    def __init__(self, commit: str, summary: str, reason: str) -> None:
        super().__init__(commit=commit, summary=printable(summary), reason=printable(reason))
