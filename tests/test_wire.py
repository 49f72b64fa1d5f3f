"""The door's reach into imaplib and imapclient: every private name
``wire/protocol.py`` and ``wire/pipelining.py`` use is here, so that an imapclient release (or a
Python) that drops or changes one fails this test, not a user's send.
``setup.py`` allows the imapclient releases this passes on."""

from __future__ import annotations

import imaplib
import inspect
import os

import imapclient

from breezy import tests

from ..imapclient_plugin.wire import protocol

# (private method, the parameters it must take first)
IMAPCLIENT_NAMES = [
    ("_create_IMAP4", ["self"]),
    ("_set_read_timeout", ["self"]),
    ("_normalise_capabilites", ["self", "raw_response"]),
    ("_proc_folder_list", ["self", "folder_data"]),
    ("_do_capabilites", ["self"]),
]
IMAPLIB_NAMES = [
    ("_new_tag", ["self"]),
    ("_command_complete", ["self", "name", "tag"]),
    ("_untagged_response", ["self", "typ", "dat", "name"]),
    ("_get_response", ["self"]),
    ("_get_capabilities", ["self"]),
    ("_connect", ["self"]),
]
# Set in their constructors: looked for on a client made without a server.
IMAPCLIENT_ATTRIBUTES = ["_imap", "_cached_capabilities", "_starttls_done", "_timeout"]
IMAPLIB_ATTRIBUTES = ["tagged_commands", "untagged_responses", "state", "capabilities",
                      "is_readonly", "_encoding"]


class TestPrivateNames(tests.TestCase):

    def assertMethod(self, cls, name: str, parameters: list) -> None:
        method = getattr(cls, name, None)
        self.assertIsNotNone(method, "%s.%s is gone" % (cls.__name__, name))
        self.assertEqual(parameters, list(inspect.signature(method).parameters)
                         [:len(parameters)], "%s.%s changed" % (cls.__name__, name))

    def test_imapclient_methods(self):
        for name, parameters in IMAPCLIENT_NAMES:
            self.assertMethod(imapclient.IMAPClient, name, parameters)

    def test_imaplib_methods(self):
        for name, parameters in IMAPLIB_NAMES:
            self.assertMethod(imaplib.IMAP4, name, parameters)

    def test_constructor_attributes(self):
        """What their constructors set (read without a server to connect to)."""
        source = inspect.getsource(imapclient.IMAPClient)
        for name in IMAPCLIENT_ATTRIBUTES:
            self.assertIn("self.%s =" % name, source, name)
        source = inspect.getsource(imaplib.IMAP4)
        for name in IMAPLIB_ATTRIBUTES:
            self.assertIn("self.%s =" % name, source, name)


PLUGIN = os.path.dirname(os.path.dirname(protocol.__file__))
WIRE_LIBRARIES = ("imaplib", "imapclient", "socket", "ssl")


def _sources(directory: str) -> list[tuple[str, str]]:
    found = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name)) as f:
                found.append((name, f.read()))
    return found


class TestTheDoor(tests.TestCase):

    def test_above_the_door_nothing_imports_the_wire_libraries(self):
        for name, text in _sources(PLUGIN):
            for library in WIRE_LIBRARIES:
                self.assertNotRegex(text, r"(?m)^\s*(import|from) %s\b" % library, name)

    def test_private_names_only_where_the_libraries_are_adapted(self):
        wire = os.path.dirname(protocol.__file__)
        for name, text in _sources(PLUGIN) + _sources(wire):
            if name in ("protocol.py", "pipelining.py"):
                continue
            self.assertNotIn("._imap", text, name)
            for private, _ in IMAPCLIENT_NAMES + IMAPLIB_NAMES:
                self.assertNotIn("." + private + "(", text, name)
