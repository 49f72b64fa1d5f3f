"""The keyring backend keyring chose is remembered: later runs skip the
choice (every installed backend imported and asked), unless what it
depends on changed or the backend can no longer run."""

from __future__ import annotations

import os
import time

import keyring
import keyring.backend
import keyring.core
from keyring.backends import chainer, fail

from breezy import tests

from ..imapclient_plugin import cache_files, system_keyring
from . import fixtures


class TestRememberedBackend(tests.TestCaseInTempDir):

    def setUp(self):
        super().setUp()
        self.overrideEnv("PYTHON_KEYRING_BACKEND", None)
        self.overrideEnv("XDG_CONFIG_HOME", self.test_dir + "/config")  # no keyringrc.cfg
        previous = keyring.core._keyring_backend
        self.addCleanup(setattr, keyring.core, "_keyring_backend", previous)
        self.choices = 0  # processes in which keyring made its choice
        self.choosing = False

        def installed():
            """One backend installed, so keyring's choice is known here."""
            self.choosing = True
            return [fixtures.MemoryKeyring()]
        self.overrideAttr(keyring.backend, "get_all_keyring", installed)

    def fresh_process(self) -> object:
        """As a new brz process: no backend yet; prepare, then the backend."""
        keyring.core._keyring_backend = None
        self.choosing = False
        system_keyring.choose_backend()
        backend = keyring.get_keyring()
        self.choices += self.choosing
        return backend

    def remembered(self):
        return cache_files.load(system_keyring.CACHE_FILE).get("backend")

    def test_chosen_once_then_remembered(self):
        first = self.fresh_process()
        self.assertIsInstance(first, fixtures.MemoryKeyring)
        self.assertEqual(1, self.choices)
        self.assertEqual("%s.%s" % (type(first).__module__, type(first).__qualname__),
                         self.remembered())
        self.assertIsInstance(self.fresh_process(), fixtures.MemoryKeyring)
        self.assertEqual(1, self.choices)

    def test_a_chain_of_backends_is_not_remembered(self):
        self.overrideAttr(keyring.backend, "get_all_keyring",
                          lambda: [chainer.ChainerBackend()])
        self.overrideAttr(chainer.ChainerBackend, "priority", 10)
        self.assertIsInstance(self.fresh_process(), chainer.ChainerBackend)
        self.assertIsNone(self.remembered())

    def test_chosen_again_when_the_session_changes(self):
        first = self.fresh_process()
        self.overrideEnv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        self.assertIs(type(first), type(self.fresh_process()))
        self.assertEqual(2, self.choices)

    def test_a_backend_that_cannot_run_is_chosen_again(self):
        first = self.fresh_process()
        record = cache_files.load(system_keyring.CACHE_FILE)
        record["backend"] = "keyring.backends.fail.Keyring"  # priority 0
        cache_files.save(system_keyring.CACHE_FILE, record)
        self.assertIs(type(first), type(self.fresh_process()))
        self.assertEqual(2, self.choices)
        self.assertNotEqual("keyring.backends.fail.Keyring", self.remembered())

    def test_a_save_removes_what_a_killed_save_left(self):
        directory = os.path.dirname(cache_files.path(system_keyring.CACHE_FILE))
        os.makedirs(directory, exist_ok=True)
        stale, recent = (os.path.join(directory, n) for n in ("a.tmp", "b.tmp"))
        for leftover in (stale, recent):
            with open(leftover, "w") as f:
                f.write("{")
        hour_ago = time.time() - 3600
        os.utime(stale, (hour_ago, hour_ago))
        cache_files.save(system_keyring.CACHE_FILE, {"backend": "x"})
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(recent))  # perhaps another brz's, saving
        self.assertEqual({"backend": "x"}, cache_files.load(system_keyring.CACHE_FILE))

    def test_the_users_choice_is_left_to_keyring(self):
        self.overrideEnv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        self.assertIsInstance(self.fresh_process(), fail.Keyring)
        self.assertEqual(0, self.choices)
        self.assertIsNone(self.remembered())

    def test_a_backend_set_in_the_process_stays(self):
        chosen = fail.Keyring()
        keyring.set_keyring(chosen)
        system_keyring.choose_backend()
        self.assertIs(chosen, keyring.get_keyring())
        self.assertFalse(self.choosing)


MASTER_PASSWORD = "open sesame"


class TestEncryptedFileKeyring(fixtures.SendTestCase):
    """A real keyrings.alt encrypted file keyring, in a real brz process:
    it asks for its master password, and brz says that is the cause."""

    def setUp(self):
        super().setUp()
        try:
            from keyrings.alt.file import EncryptedKeyring
            EncryptedKeyring.priority  # needs pycryptodome
        except Exception as e:
            if os.environ.get("CI") == "true":
                self.fail("needs keyrings.alt and pycryptodome: %s" % e)
            raise tests.TestNotApplicable("needs keyrings.alt and pycryptodome: %s" % e)
        self.overrideEnv("XDG_DATA_HOME", os.path.abspath("data"))
        self.server = fixtures.start_dovecot(self)
        self.configure(self.server)
        kept = EncryptedKeyring()
        kept._get_new_password = lambda: MASTER_PASSWORD  # as if typed when made
        kept._init_file()
        kept.set_password(self.server.host, fixtures.USER, fixtures.PASSWORD)

    def test_the_master_password_prompt_is_explained(self):
        import subprocess
        import sys

        from .test_secret_service import plugin_root

        # A session of its own: no terminal, so getpass reads stdin.
        done = subprocess.run(
            [sys.executable, "-m", "breezy", "send", "../trunk"], cwd="feature",
            input=(MASTER_PASSWORD + "\n").encode(), capture_output=True,
            start_new_session=True, timeout=60,
            env=dict(os.environ, BRZ_PLUGINS_AT="imapclient@" + plugin_root(),
                     PYTHON_KEYRING_BACKEND="keyrings.alt.file.EncryptedKeyring"))
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        self.assertEqual(0, done.returncode, output)
        self.assertContainsString(
            output, "The keyring (keyrings.alt.file.EncryptedKeyring) asks for its"
            " own master password on every send")
        self.assertNotContainsString(output, fixtures.PASSWORD)
        self.assertEqual(1, len(self.server.messages(fixtures.USER, "Drafts")))
