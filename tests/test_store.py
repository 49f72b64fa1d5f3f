"""The storing pipeline called directly: big uploads report progress."""

from __future__ import annotations

import os

from breezy import config, tests, ui

from ..imapclient_plugin.message import build_draft, draft_bytes
from ..imapclient_plugin.settings import read_settings
from ..imapclient_plugin.store import Draft, store_drafts
from . import fixtures
from .fixtures import PASSWORD, USER


class ProgressRecorder(ui.SilentUIFactory):
    """A UI that remembers every progress update."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[str, int, int]] = []

    def _progress_updated(self, task) -> None:
        self.updates.append((task.msg, task.current_cnt, task.total_cnt))


class TestProgress(tests.TestCaseInTempDir):

    def setUp(self):
        super().setUp()
        self.overrideEnv("XDG_CACHE_HOME", os.path.abspath("cache"))
        self.server = fixtures.start_dovecot(self)
        fixtures.use_keyring(self, fixtures.MemoryKeyring()).set_password(
            self.server.host, USER, PASSWORD)
        self.settings = read_settings(config.MemoryStack((
            "imap_server = imap://127.0.0.1:%d\nimap_security = none\n"
            "imap_username = %s\n" % (self.server.port, USER)).encode()), None)
        self.recorder = ProgressRecorder()
        self.overrideAttr(ui, "ui_factory", self.recorder)

    def store(self, size: int) -> int:
        message = build_draft(sender="a@example.com", to=None, subject="big",
                              body=None, attachment=os.urandom(size),
                              filename="big.patch")
        data = draft_bytes(message)
        store_drafts(self.settings, [Draft(data, message["Message-ID"], fresh_id=True)])
        ((_flags, stored),) = self.server.messages(USER, "Drafts")
        self.assertEqual(bytes(data), stored)
        return len(data)

    def test_big_upload_reports_progress(self):
        size = self.store(3_000_000)  # about 4 MB, base64
        uploads = [u for u in self.recorder.updates
                   if u[0] == "Uploading the draft, MB"]
        megabytes = -(-size // 1_000_000)
        self.assertEqual((0, megabytes), uploads[0][1:])
        self.assertEqual((megabytes, megabytes), uploads[-1][1:])
        self.assertGreaterEqual(len(uploads), 4)  # 1 MB slices
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))

    def test_small_upload_has_no_progress_bar(self):
        self.store(10_000)
        self.assertEqual([], [u for u in self.recorder.updates
                              if u[0].startswith("Uploading the draft")])
        self.assertEqual(1, len(self.server.messages(USER, "Drafts")))
