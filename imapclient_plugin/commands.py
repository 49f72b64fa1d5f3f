"""``brz imap-send``: store .eml messages as drafts, e.g. those brz send kept."""

from __future__ import annotations

import os

from breezy import config as _config
from breezy import trace
from breezy.branch import Branch
from breezy.commands import Command
from breezy.errors import NotBranchError

from . import errors
from .message import load_message
from .settings import identity, identity_address, read_settings
from .store import report_stored, store_draft
from .unsent import unsent_dir


class cmd_imap_send(Command):
    __doc__ = """Store e-mail messages as drafts in the IMAP Drafts folder.

    Each FILE is a complete message (RFC 5322), such as the .eml files that
    ``brz send`` keeps when it cannot store its draft.  The settings are
    those of ``brz send`` with mail_client = imapclient, read for the branch
    in the current directory (see ``brz help imapclient``).

    A message whose Message-ID is already in the folder is not stored again,
    so running the command twice does not make duplicates.  A file kept by
    ``brz send`` is deleted once its message is stored.
    """

    takes_args = ["file+"]

    def run(self, file_list):
        config = _config_stack()
        sender = identity(config)
        settings = read_settings(config, identity_address(sender))
        for path in file_list:
            data, message_id = _read(path)
            report_stored(settings, store_draft(settings, data, message_id,
                                                check_first=True))
            if _is_kept(path):
                os.remove(path)
                trace.note("Removed %s.", path)


def _config_stack():
    try:
        return Branch.open_containing(".")[0].get_config_stack()
    except NotBranchError:
        return _config.GlobalStack()


def _read(path: str) -> tuple[bytes, str]:
    try:
        with open(path, "rb") as f:
            return load_message(f.read())
    except OSError as e:
        raise errors.CannotRead(path=path, reason=e.strerror or str(e))
    except ValueError as e:
        raise errors.NotAMessage(path=path, reason=str(e))


def _is_kept(path: str) -> bool:
    return os.path.dirname(os.path.abspath(path)) == os.path.abspath(unsent_dir())
