"""The connection opened early is the one the IMAP code takes; one to
another address, or one nobody takes, is closed; a failure to connect is
raised where the connection is taken."""

from __future__ import annotations

import socket
import time

from breezy import tests

from ..imapclient_plugin import early_connection
from .imap_server import free_port

TIMEOUT = 10.0


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
        address = listener.getsockname()
        early_connection.start(*address, TIMEOUT)
        server_side = self.accepted(listener)
        client_side = early_connection.connection(address, 3.0)
        self.addCleanup(client_side.close)
        client_side.sendall(b"a")
        self.assertEqual(b"a", server_side.recv(1))
        self.assertEqual(3.0, client_side.gettimeout())
        self.assertContainsRe(self.get_log(), "connection opened while the command")
        # Taken once: the next connection is a new one.
        listener.settimeout(0.2)
        second = early_connection.connection(address, TIMEOUT)
        self.addCleanup(second.close)
        self.accepted(listener)

    def test_one_to_another_address_is_closed(self):
        first, second = self.listener(), self.listener()
        early_connection.start(*first.getsockname(), TIMEOUT)
        opened_early = self.accepted(first)
        taken = early_connection.connection(second.getsockname(), TIMEOUT)
        self.addCleanup(taken.close)
        self.accepted(second)
        self.assertClosedByClient(opened_early)

    def test_one_nobody_takes_is_closed(self):
        listener = self.listener()
        early_connection.start(*listener.getsockname(), TIMEOUT)
        opened_early = self.accepted(listener)
        early_connection.discard()
        self.assertClosedByClient(opened_early)

    def test_one_still_opening_is_closed_once_open(self):
        # A full accept queue (one waiting connection, backlog 0): Linux
        # drops the next SYN, so that connect waits for a retransmission.
        listener = self.listener(backlog=0)
        waiting = socket.create_connection(listener.getsockname(), TIMEOUT)
        self.addCleanup(waiting.close)
        time.sleep(0.1)
        early_connection.start(*listener.getsockname(), TIMEOUT)
        opening = early_connection._opening
        time.sleep(0.1)
        self.assertIsNone(opening.sock)
        early_connection.discard()  # does not wait
        self.assertTrue(opening.is_alive())
        self.accepted(listener)  # makes room: the SYN is retransmitted
        opened_early = self.accepted(listener)
        opening.join(TIMEOUT)
        self.assertIsNone(opening.sock)
        self.assertClosedByClient(opened_early)

    def test_a_refused_connection_is_raised_where_it_is_taken(self):
        port = free_port()
        early_connection.start("127.0.0.1", port, TIMEOUT)
        self.assertRaises(ConnectionRefusedError, early_connection.connection,
                          ("127.0.0.1", port), TIMEOUT)

    def test_without_one_a_connection_is_opened(self):
        listener = self.listener()
        taken = early_connection.connection(listener.getsockname(), TIMEOUT)
        self.addCleanup(taken.close)
        self.accepted(listener)
        self.assertNotContainsRe(self.get_log(), "connection opened while")
