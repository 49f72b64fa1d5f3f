"""Shared test helpers: a Dovecot per test, keyrings, Breezy branches."""

from __future__ import annotations

import datetime
import email
import email.policy
import os
import re
import subprocess
import sys
from typing import Optional

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from breezy import bedding, config, osutils, tests
from breezy.tests import features

from . import dovecot
from .cyrus_server import CyrusServer
from .hoodiecrow_server import HoodiecrowServer
from .imap_server import IMAPTestServer, ServerDidNotStart, ServerUnavailable
from .proxy import RewritingProxy
from .pymap_server import PymapServer

USER = "alice"
PASSWORD = "correct horse battery"
IDENTITY = "Zoë Développeur <alice@example.com>"


PLUGIN = __name__.rsplit(".", 2)[0]  # breezy.plugins.imapclient
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_with_plugin(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter that has loaded
    this plugin (from this tree) as Breezy loads plugins, and no other;
    ``loaded`` holds the modules loading it imported."""
    return subprocess.run(python_with_plugin(code), check=True,
                          capture_output=True, text=True).stdout


def python_with_plugin(code: str) -> list:
    """The command that runs ``code`` as ``run_with_plugin`` does."""
    setup = (
        "import importlib.util, sys, breezy.config, breezy.help_topics\n"
        "import breezy.plugins\n"
        "before = set(sys.modules)\n"
        "spec = importlib.util.spec_from_file_location(%r, %r,"
        " submodule_search_locations=[%r])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules[spec.name] = module\n"
        "spec.loader.exec_module(module)\n"
        "loaded = set(sys.modules) - before\n"
        % (PLUGIN, os.path.join(PLUGIN_ROOT, "__init__.py"), PLUGIN_ROOT)
    )
    return [sys.executable, "-c", setup + code]


# In a -Dimap log: the login, the lines up to its tagged OK (the client
# sends nothing among them: no command goes behind a login), and the lines
# after it up to the server's next one.
LOGIN_AND_NEXT_TURN = re.compile(
    r"imap C: \S+ AUTHENTICATE[^\n]*\n"
    r"(?P<behind>(?:(?![^\n]*imap S: [A-Z0-9]+ OK)[^\n]*\n)*?)"
    r"[^\n]*imap S: [A-Z0-9]+ OK[^\n]*\n"
    r"(?P<next>(?:(?![^\n]*imap S: )[^\n]*\n)*)")


def turn_after_login(test: tests.TestCase, log: str) -> str:
    """What the client of the last login in ``log`` sent once its OK came,
    in one turn (its ``imap C:`` lines); fails if it sent anything behind
    the login before that."""
    matches = list(LOGIN_AND_NEXT_TURN.finditer(log))
    test.assertTrue(matches, "no login in the log")
    test.assertNotContainsString(matches[-1].group("behind"), "imap C: ")
    return "".join(line + "\n" for line in matches[-1].group("next").splitlines()
                   if "imap C: " in line)


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def attachment_bytes(message) -> bytes:
    """The one attachment, as a mail reader saves it."""
    (part,) = list(message.iter_attachments())
    data = part.get_payload(decode=True)
    if part["Content-Transfer-Encoding"] in ("7bit", "8bit", "quoted-printable"):
        data = data.replace(b"\r\n", b"\n")  # MIME text travels with CRLF
    return data


class MemoryKeyring(KeyringBackend):
    """A working keyring backend that keeps passwords in this process."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("not in the keyring")


class CountingKeyring(MemoryKeyring):
    """A MemoryKeyring that counts its lookups."""

    lookups = 0

    def get_password(self, service, username):
        self.lookups += 1
        return super().get_password(service, username)


class FailingKeyring(KeyringBackend):
    """A backend whose every lookup raises ``error``."""

    priority = 1

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service, username):
        raise self.error

    def set_password(self, service, username, password):
        raise self.error

    def delete_password(self, service, username):
        raise self.error


def use_keyring(test: tests.TestCase, backend: KeyringBackend) -> KeyringBackend:
    """Make ``backend`` the process's keyring for the length of ``test``."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    test.addCleanup(keyring.set_keyring, previous)
    return backend


def no_keyring(test: tests.TestCase) -> None:
    """The headless situation: keyring's own 'no backend' backend."""
    use_keyring(test, fail.Keyring())


trustme_feature = features.ModuleAvailableFeature("trustme")


class TestCA:
    """A private CA (trustme) for one test: its PEM file, and certificate
    files for servers.  Skips the test where trustme is missing."""

    def __init__(self, test: tests.TestCase) -> None:
        test.requireFeature(trustme_feature)
        self.ca = trustme_feature.module.CA()
        self.path = os.path.abspath("test-ca.pem")
        self.ca.cert_pem.write_to_path(self.path)

    def server_files(self, *identities: str, expired: bool = False) -> tuple[str, str]:
        """(certificate chain, key) PEM files for ``identities``."""
        options = {}
        if expired:
            now = datetime.datetime.now(datetime.timezone.utc)
            options = dict(not_before=now - datetime.timedelta(days=30),
                           not_after=now - datetime.timedelta(days=1))
        try:
            cert = self.ca.issue_cert(*(identities or ("127.0.0.1",)), **options)
        except TypeError:  # trustme before 1.0 (Debian 12) has no not_before
            options.pop("not_before")
            cert = self.ca.issue_cert(*(identities or ("127.0.0.1",)), **options)
        chain, key = os.path.abspath("server.pem"), os.path.abspath("server.key")
        with open(chain, "wb") as f:
            f.write(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(key)
        return chain, key


def start_dovecot(test: tests.TestCase, **kwargs) -> dovecot.DovecotServer:
    """A fresh Dovecot for ``test``, stopped on cleanup."""
    users = kwargs.pop("users", {USER: PASSWORD})
    return _started(test, lambda: dovecot.DovecotServer(users, **kwargs))


def start_cyrus(test: tests.TestCase) -> CyrusServer:
    """A fresh Cyrus IMAP for ``test``, stopped on cleanup."""
    return _started(test, lambda: CyrusServer({USER: PASSWORD}))


def start_hoodiecrow(test: tests.TestCase) -> HoodiecrowServer:
    """A fresh hoodiecrow (GMail's folders) for ``test``, stopped on cleanup."""
    return _started(test, lambda: HoodiecrowServer({USER: PASSWORD}))


def start_pymap(test: tests.TestCase) -> PymapServer:
    """A fresh pymap (in memory, one user) for ``test``, stopped on cleanup."""
    return _started(test, lambda: PymapServer({USER: PASSWORD}))


def _started(test: tests.TestCase, make_server):
    """Start the server; skip where it cannot run, except in CI (CI=true),
    where that must fail the run rather than hide the end-to-end tests. A
    server that is there but does not start fails the test anywhere."""
    try:
        server = make_server()
        server.start()
    except ServerDidNotStart as e:
        test.fail(str(e))
    except ServerUnavailable as e:
        if os.environ.get("CI") == "true":
            test.fail("needed in CI: %s" % e)
        raise tests.TestNotApplicable(str(e))
    test.addCleanup(server.stop)
    return server


class SendTestCase(tests.TestCaseWithTransport):
    """Two real branches, trunk and feature, and a global IMAP config."""

    def setUp(self) -> None:
        super().setUp()
        self.overrideEnv("XDG_CACHE_HOME", self.test_home_dir + "/.cache")
        self.overrideEnv("BRZ_EMAIL", IDENTITY)
        self.make_branches()

    def make_branches(self) -> None:
        trunk = self.make_branch_and_tree("trunk")
        self.build_tree_contents([("trunk/hello.txt", b"hello\n")])
        trunk.add(["hello.txt"])
        trunk.commit("Initial import")
        feature = trunk.controldir.sprout("feature").open_workingtree()
        self.build_tree_contents(
            [("feature/hello.txt", b"hello\nworld \xc3\xa9t\xc3\xa9\n")]
        )
        feature.commit("Say hello to the world")

    def commit_big_file(self, size: int, message: str = "Add a big file") -> None:
        """Commit ``size`` random bytes as feature/big.bin: a big bundle, and
        a preview diff that only says the file is binary."""
        from breezy.workingtree import WorkingTree
        tree = WorkingTree.open("feature")
        # A NUL first: without one in its first 1024 bytes (one run in 55),
        # Breezy's diff takes random bytes for text and puts them in the preview.
        self.build_tree_contents([("feature/big.bin", b"\0" + os.urandom(size))])
        tree.add(["big.bin"])
        tree.commit(message)

    def configure(self, server: Optional[IMAPTestServer] = None,
                  **options: str) -> None:
        """Write the global (breezy.conf) settings for ``server``."""
        stack = config.GlobalStack()
        stack.set("mail_client", "imapclient")
        if server is not None:
            stack.set("imap_server", "imap://%s:%d" % (server.host, server.port))
            stack.set("imap_security", "none")
            stack.set("imap_username", USER)
        for name, value in options.items():
            stack.set(name, value)
        stack.store.save()  # on disk too, for brz subprocesses

    def configure_through_proxy(self, server: IMAPTestServer, rewrite_server_line,
                                **options: str) -> None:
        """Configure for ``server``, seen through a proxy that rewrites
        what it says (to look like another server)."""
        proxy = RewritingProxy((server.host, server.port), rewrite_server_line)
        self.addCleanup(proxy.close)
        self.configure(server, imap_server="imap://127.0.0.1:%d" % proxy.port,
                       **options)

    def send(self, *args: str, retcode: int = 0, stdin: Optional[str] = None):
        return self.run_bzr(
            ["send", "--mail-to=Project List <list@example.org>", "../trunk"]
            + list(args),
            working_dir="feature", retcode=retcode, stdin=stdin,
        )

    def kept_message_path(self, err: str) -> str:
        """The .eml path the error names; it must exist."""
        marker = "The message is kept in "
        self.assertContainsRe(err, marker)
        path = err.split(marker, 1)[1].split()[0].rstrip(";")
        self.assertPathExists(path)
        return path

    def assertNotStored(self, err: str, *needles: str) -> str:
        """One error paragraph naming ``needles``; the .eml kept whole."""
        self.assertNotContainsString(err, "Traceback")
        (error,) = [line for line in err.splitlines()
                    if not line.startswith("Bundling ")]
        # One paragraph, after the password prompt where there was one.
        self.assertContainsRe(error, "^(IMAP password for [^:]+: )?brz: ERROR: ")
        for needle in needles:
            self.assertContainsString(err, needle)
        path = self.kept_message_path(err)
        self.assertStartsWith(path, osutils.pathjoin(bedding.cache_dir(),
                                                     "imapclient", "unsent"))
        with open(path, "rb") as f:
            message = parse(f.read())
        self.assertEqual("[MERGE] Say hello to the world", message["Subject"])
        # bytes: the patch may show a file that is not UTF-8
        self.assertIn(b"merge directive", attachment_bytes(message))
        return path
