"""The plugin's commands: imap-send, imap-folders, imap-check, imap-login."""

from __future__ import annotations

import os
import sys

from breezy import config as _config
from breezy import trace
from breezy.branch import Branch
from breezy.commands import Command
from breezy.errors import NotBranchError, UnsupportedFormatError
from breezy.option import Option

from . import errors
from .errors import printable

# What the commands use (imapclient, email, keyring) is imported in ``run``:
# Breezy imports this module to list or document the commands.


class cmd_imap_send(Command):
    __doc__ = """Store e-mail messages or patches as drafts in the IMAP Drafts folder.

    Each FILE (or - for standard input) may be:

    - a complete message, such as the .eml files that ``brz send`` keeps
      when it cannot store its draft;
    - an mbox of messages, such as ``git format-patch --stdout``: one
      draft per message;
    - a patch, such as ``brz send -o -`` output: a draft with it attached.

    The settings are those of ``brz send`` with mail_client = imapclient,
    read for the branch in the current directory (``brz help imapclient``).
    A message whose Message-ID is already in the folder is not stored again,
    so running the command twice makes no duplicates (a message or patch
    without one gets one made from its content).  A series of patches goes
    over one connection and takes about the time of one message.  A file
    kept by ``brz send`` is deleted once its message is stored; where it is
    the next revision of a merge request, the earlier draft it replaces is
    removed as ``brz send`` would have.  A kept file that a later version
    of its merge request replaced is not stored (``--superseded`` stores it
    anyway).

    -v shows each step (the server, TLS, the login, the folder); ``brz
    -Dimap imap-send`` logs the IMAP conversation itself, credentials
    redacted, to Breezy's log.
    """

    takes_args = ["file+"]
    takes_options = ["verbose", Option(
        "superseded", help="Store a message brz send kept even where a later version"
        " of its merge request replaced it.")]

    def run(self, file_list, verbose=False, superseded=False):
        from .settings import identity, identity_address, read_settings

        config = _config_stack()
        sender = identity(config)
        settings = read_settings(config, identity_address(sender))
        contents = [(path, _read(path)) for path in file_list]
        from .inputs import messages_from
        from .store import Draft, report_stored, store_drafts, subject_of

        # All read (and checked) first: bad input stores nothing.
        inputs = [(path, [Draft(data, message_id) for data, message_id in messages_from(
            content, "stdin" if path == "-" else path, sender)]) for path, content in contents]
        messages = [message for _path, drafts in inputs for message in drafts]
        if not messages:
            raise errors.InvalidInput(name=" ".join(file_list),
                                      reason="it holds no message")
        from .revisions import refuse_superseded, settle_kept

        for path, drafts in inputs if not superseded else []:
            refuse_superseded(path, [m.message_id for m in drafts])

        stored = store_drafts(settings, messages)
        for message, where in zip(messages, stored):
            report_stored(settings, where, subject_of(message.data, message.message_id))
        settle_kept(settings, [(m.message_id, where) for m, where in zip(messages, stored)])
        for path in file_list:
            if _is_kept(path):
                os.remove(path)
                trace.note("Removed %s.", path)


class cmd_imap_folders(Command):
    __doc__ = """List the folders of the IMAP account, and where drafts go.

    Each folder is shown with its special-use flags (RFC 6154: \\Drafts,
    \\Sent, ...); the one ``brz send`` stores drafts in is marked with *,
    and how it was chosen is said below.  Nothing is created or changed.
    """

    encoding_type = "replace"

    def run(self):
        from . import drafts
        from .wire.connection import logged_in

        settings = _settings()
        with logged_in(settings) as connection:
            listing = connection.list_folders()
            target, to_create = drafts.planned_drafts_folder(
                connection, settings.mailbox, listing)
        for flags, _delimiter, name in listing:
            special = [f.decode("ascii", "replace") for f in flags
                       if f.lower() in SPECIAL_USE_FLAGS]  # known, so printable
            mark = "*" if target is not None and name == target.name else " "
            self.outf.write("%s %s%s\n" % (
                mark, printable(name), "  " + " ".join(special) if special else ""))
        names = [name for _flags, _delimiter, name in listing]
        if target is not None and target.name not in names:  # set by imap_mailbox
            self.outf.write(
                'imap_mailbox is "%s", which this account does not have: brz send'
                " will stop with an error, not create it. Create it in your mail"
                " program, or remove imap_mailbox to use the folder brz finds.\n"
                % printable(target.name))
        elif target is not None:
            self.outf.write('Drafts go to "%s" (%s).\n' % (printable(target.name),
                                                           target.how_found))
        else:
            self.outf.write('No drafts folder: brz send will create "%s".\n'
                            % printable(to_create))


SPECIAL_USE_FLAGS = {b"\\all", b"\\archive", b"\\drafts", b"\\flagged",
                     b"\\junk", b"\\sent", b"\\trash"}


class cmd_imap_check(Command):
    __doc__ = """Check the IMAP set-up, one step at a time.

    Reads the settings, looks the server up, connects, checks TLS (protocol,
    certificate, expiry), logs in, finds the Drafts folder, and shows the
    server's APPENDLIMIT and capabilities: one line for each, and at the
    first failure what to change.  Nothing is stored or created.  The exit
    code is 1 if a step failed.
    """

    encoding_type = "replace"

    def run(self):
        from .check import run_checks

        ok = run_checks(_config_stack(), lambda line: self.outf.write(line + "\n"))
        return 0 if ok else 1


class cmd_imap_login(Command):
    __doc__ = """Check the IMAP password and keep it in the system keyring.

    Asks for the password of imap_username on imap_server, logs in with it
    to be sure it is right, and only then stores it in the keyring, where
    ``brz send`` looks first.  With --forget, deletes it from the keyring.
    """

    takes_options = [Option("forget",
                            help="Delete the stored password from the keyring.")]

    def run(self, forget=False):
        from . import credentials, system_keyring
        from .wire.connection import logged_in

        settings = _settings()
        if forget:
            if system_keyring.delete(settings.host, settings.username):
                trace.note("Deleted the password for %s on %s from the keyring.",
                           settings.username, settings.host)
            else:
                trace.note("No password for %s on %s is in the keyring.",
                           settings.username, settings.host)
            return
        backend = system_keyring.usable_backend()
        if backend is None:
            raise errors.NoUsableKeyring(reason="no keyring backend is available")
        value = credentials.ask_password(settings)
        if not value:
            raise errors.NoPassword(host=settings.host, user=settings.username,
                                    keyring="not stored yet",
                                    advice="Run brz imap-login again and type it.")
        password = credentials.Password(value, credentials.PROMPT)
        with logged_in(settings, password=password):
            pass  # logging in is the check
        system_keyring.store(settings.host, settings.username, value)
        trace.note("Logged in to %s as %s; the password is in the keyring (%s).",
                   settings.host, settings.username, backend)


def _settings():
    from .settings import identity, identity_address, read_settings

    config = _config_stack()
    return read_settings(config, identity_address(identity(config)))


# The formats whose branches have a config of their own (branch.conf; the
# git user's name and e-mail).
BRANCH_DIRS = (".bzr", ".git")


def _config_stack() -> _config.Stack:
    """The config of the branch the current directory is in, else the
    global one.  Breezy is asked only where a .bzr or .git is above: it
    would otherwise probe every format it knows, foreign ones too (some
    10 ms, and Subversion's or Mercurial's is an error, not "no branch")."""
    if has_branch_dir_above(os.getcwd()):
        try:
            return Branch.open_containing(".")[0].get_config_stack()
        except (NotBranchError, UnsupportedFormatError) as e:  # svn, hg too
            trace.mutter("imapclient: no branch here (%s): global settings",
                         type(e).__name__)
    return _config.GlobalStack()


def has_branch_dir_above(directory: str) -> bool:
    """A .bzr or .git in ``directory`` or one of its parents."""
    while True:
        if any(os.path.lexists(os.path.join(directory, name)) for name in BRANCH_DIRS):
            return True
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent


def _read(path: str) -> bytes:
    if path == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        return stdin.read() if stdin else sys.stdin.read().encode("utf-8")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise errors.CannotRead(path=path, reason=e.strerror or str(e))


def _is_kept(path: str) -> bool:
    from .unsent import is_kept

    return path != "-" and is_kept(path)
