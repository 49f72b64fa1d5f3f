"""The connection opened early is the one the IMAP code takes; one for
other settings, or one nobody takes, is closed; a failure to connect is
raised where the connection is taken.  (Over TLS: test_tls.)"""

from __future__ import annotations

import socket
import time

from breezy import tests

from ..imapclient_plugin import early_connection
from ..imapclient_plugin.settings import IMAPSettings
from .imap_server import free_port

TIMEOUT = 10.0


def settings_for(address: tuple, **changes) -> IMAPSettings:
    return IMAPSettings(**dict(dict(host=address[0], port=address[1], security="none",
                                    username="u", mailbox=None, timeout=TIMEOUT),
                               **changes))


def opened_early(address: tuple) -> IMAPSettings:
    settings = settings_for(address)
    early_connection.start(settings)
    return settings


class TestEarlyConnection(tests.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(early_connection.discard)

    def listener(self, backlog: int = 4) -> socket.socket:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(backlog)
        listener.settimeout(TIMEOUT)
        self.addCleanup(listener.close)
        return listener

    def accepted(self, listener: socket.socket) -> socket.socket:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        self.addCleanup(conn.close)
        return conn

    def assertClosedByClient(self, conn: socket.socket) -> None:
        self.assertEqual(b"", conn.recv(1))

    def test_the_connection_opened_early_is_taken(self):
        listener = self.listener()
        settings = opened_early(listener.getsockname())
        server_side = self.accepted(listener)
        opening = early_connection.take(settings)
        self.assertIsNone(opening.context)  # no TLS
        client_side = opening.connection(3.0)
        self.addCleanup(client_side.close)
        client_side.sendall(b"a")
        self.assertEqual(b"a", server_side.recv(1))
        self.assertEqual(3.0, client_side.gettimeout())
        self.assertContainsRe(self.get_log(), "connection opened while the command")
        opening.abandon()  # taken: left open
        client_side.sendall(b"b")
        self.assertEqual(b"b", server_side.recv(1))
        self.assertIsNone(early_connection.take(settings))  # taken once

    def test_one_for_other_settings_is_closed(self):
        listener = self.listener()
        settings = opened_early(listener.getsockname())
        server_side = self.accepted(listener)
        other = settings_for(listener.getsockname(), security="starttls")
        self.assertIsNone(early_connection.take(other))
        self.assertClosedByClient(server_side)
        self.assertIsNone(early_connection.take(settings))

    def test_one_nobody_takes_is_closed(self):
        listener = self.listener()
        opened_early(listener.getsockname())
        server_side = self.accepted(listener)
        early_connection.discard()
        self.assertClosedByClient(server_side)

    def test_one_still_opening_is_closed_once_open(self):
        # A full accept queue (one waiting connection, backlog 0): Linux
        # drops the next SYN, so that connect waits for a retransmission.
        listener = self.listener(backlog=0)
        waiting = socket.create_connection(listener.getsockname(), TIMEOUT)
        self.addCleanup(waiting.close)
        time.sleep(0.1)
        opened_early(listener.getsockname())
        opening = early_connection._opening
        time.sleep(0.1)
        self.assertTrue(opening.is_alive())
        early_connection.discard()  # does not wait
        self.assertTrue(opening.is_alive())
        self.accepted(listener)  # makes room: the SYN is retransmitted
        server_side = self.accepted(listener)
        opening.join(TIMEOUT)
        self.assertFalse(opening.is_alive())
        self.assertClosedByClient(server_side)

    def test_a_refused_connection_is_raised_where_it_is_taken(self):
        opening = early_connection.take(opened_early(("127.0.0.1", free_port())))
        self.assertRaises(ConnectionRefusedError, opening.connection, TIMEOUT)

    def test_none_for_a_tunnel(self):
        early_connection.start(settings_for(("imap_tunnel", 0), tunnel="true"))
        self.assertIsNone(early_connection._opening)
