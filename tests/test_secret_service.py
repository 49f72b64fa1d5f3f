"""A real Secret Service: gnome-keyring in a private D-Bus session.

The password is stored with the keyring API, then a real ``brz`` process
(stdin closed, so it cannot be prompted) must find it and store the draft.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from breezy import tests

from . import fixtures
from .fixtures import PASSWORD, USER

DRIVER = """\
import os, subprocess, sys, time
import keyring
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
from keyring.backends import SecretService

# One daemon, unlocked, in the foreground; wait until it owns the service
# name, or the first keyring call would D-Bus-activate a second, locked one.
daemon = subprocess.Popen(
    ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
daemon.stdin.write(b"unlock-test-keyring")
daemon.stdin.close()
bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                  interface="org.freedesktop.DBus")
with open_dbus_connection(bus="SESSION") as connection:
    for _ in range(400):
        reply = connection.send_and_get_reply(new_method_call(
            bus, "NameHasOwner", "s", ("org.freedesktop.secrets",)))
        if reply.body[0]:
            break
        time.sleep(0.05)
    else:
        sys.exit("gnome-keyring-daemon did not start")

keyring.set_keyring(SecretService.Keyring())
keyring.set_password(os.environ["TEST_IMAP_HOST"], os.environ["TEST_IMAP_USER"],
                     os.environ.pop("TEST_IMAP_PASSWORD"))
send = subprocess.run(
    [sys.executable, "-m", "breezy", "send", "--mail-to=list@example.org",
     "../trunk"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
    start_new_session=True, timeout=60)  # no terminal: a prompt gets EOF
daemon.terminate()
daemon.wait(10)
print(send.stdout + send.stderr)
sys.exit(send.returncode)
"""


def plugin_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TestRealSecretService(fixtures.SendTestCase):

    def setUp(self):
        super().setUp()
        missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon")
                   if shutil.which(tool) is None]
        if missing:
            message = "needs %s (apt-get install dbus gnome-keyring)" % (
                " and ".join(missing))
            if os.environ.get("CI") == "true":
                self.fail(message)
            raise tests.TestNotApplicable(message)

    def test_send_finds_the_password_in_gnome_keyring(self):
        server = fixtures.start_dovecot(self)
        self.configure(server)
        runtime = tempfile.mkdtemp(prefix="brz-imap-runtime-")
        self.addCleanup(shutil.rmtree, runtime, True)
        os.makedirs(os.path.join(self.test_home_dir, ".cache"), exist_ok=True)
        log = os.path.abspath("brz.log")
        env = dict(
            os.environ,
            XDG_RUNTIME_DIR=runtime,
            BRZ_LOG=log,
            BRZ_PLUGINS_AT="imapclient@" + plugin_root(),
            TEST_IMAP_HOST=server.host,
            TEST_IMAP_USER=USER,
            TEST_IMAP_PASSWORD=PASSWORD,
        )
        for name in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND"):
            env.pop(name, None)
        with open("driver.py", "w") as f:
            f.write(DRIVER)
        try:
            result = subprocess.run(
                ["dbus-run-session", "--", sys.executable,
                 os.path.abspath("driver.py")],
                cwd="feature", env=env, capture_output=True, text=True,
                timeout=60)
        except subprocess.TimeoutExpired as e:
            self.fail("timed out; output so far: %r %r" % (e.stdout, e.stderr))
        if result.returncode != 0 and os.path.exists(log):
            with open(log) as f:
                result.stdout += "\nbrz.log:\n" + f.read()[-3000:]
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertContainsString(result.stdout, 'Draft saved to "Drafts"')
        self.assertNotContainsString(result.stdout, "IMAP password for")
        self.assertEqual(1, len(server.messages(USER, "Drafts")))
        with open(log, encoding="utf-8", errors="replace") as f:
            brz_log = f.read()
        self.assertContainsString(brz_log, "password for alice from keyring")
        self.assertNotContainsString(brz_log + result.stdout, PASSWORD)
