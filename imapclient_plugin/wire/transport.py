"""The link to the server: TCP, TLS or a tunnel's pipes, and its reads and
writes, bounded in size and in time.

imaplib trusts the server: a ``{1000000000}`` literal is read into memory,
a server that drips one byte at a time or sends untagged lines forever
holds it as long as it likes (the socket timeout is per read), and a big
upload's ``sendall`` counts the whole upload against one timeout.  This
mixin replaces imaplib's ``read``, ``readline`` and ``send`` so that:

- every reply must be complete within ``imap_timeout`` seconds of the last
  sign of progress: the request being sent, or the server taking more of an
  upload (what the peer has acknowledged, not what the kernel has buffered:
  on a slow uplink the reply cannot come before the upload has arrived);
- a reply may be at most MAX_REPLY bytes, a line MAX_LINE, a literal
  MAX_LITERAL (the plugin never asks for big data);
- a write fails only when the peer takes nothing for ``imap_timeout``.

It works on TCP and TLS sockets, and (``PipeIO``) on imap_tunnel's pipes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import ssl
import struct
import termios
import time
from typing import TYPE_CHECKING, Callable, NamedTuple, Optional

from breezy import ui

from .. import errors
from ..draft_data import DraftData, slices, whole
from ..settings import IMAPSettings

if TYPE_CHECKING:  # imported where a tunnel is started: most sends have none
    import subprocess

DEFAULT_TIMEOUT = 60.0
MAX_LINE = 1 << 20
MAX_LITERAL = 1 << 20
MAX_REPLY = 16 << 20
RECEIVE = 1 << 16
SEND = 1 << 16
PROGRESS_FROM = 1 << 20  # a progress bar for uploads bigger than this
PROGRESS_MESSAGE = "Uploading the draft, MB"  # counted in them, not in bytes
MEGABYTE = 1000 * 1000
PROGRESS_PROBE = 0.5  # seconds between looks at how much the peer has taken


class ReplyTimeout(socket.timeout):
    """No complete reply within the timeout; ``delivered`` says whether the
    server had taken everything sent (so it may still act on it)."""

    def __init__(self, seconds: float, delivered: bool) -> None:
        super().__init__("timed out: no reply within %g seconds" % seconds)
        self.delivered = delivered


def unacknowledged_bytes(sock: socket.socket) -> int:
    """Bytes sent but not yet acknowledged by the peer (Linux SIOCOUTQ);
    0 where the system cannot tell."""
    return _queued(sock.fileno(), termios.TIOCOUTQ)


def _queued(fd: int, request: int) -> int:
    try:
        return struct.unpack("i", fcntl.ioctl(fd, request, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return 0


class BoundedIO:
    """imaplib.IMAP4 mixin over a socket; see the module's docstring.

    A transport other than ``self.sock`` overrides ``open``,
    ``_recv_some``, ``_send_some``, ``_unacknowledged`` and
    ``abort_connection``, and calls ``_start_bounds`` when opened.
    """

    io_timeout = DEFAULT_TIMEOUT

    def open(self, host="", port=143, timeout=None):
        """Connect as imaplib does (each imapclient version its own way)."""
        connect_timeout = self._start_bounds(timeout)
        self.host, self.port = host, port
        self.sock = new_connection(host, port, connect_timeout, self.secured)
        self.file = self.sock.makefile("rb")
        self._waiting_since = time.monotonic()

    def secured(self, sock: socket.socket) -> socket.socket:
        """``sock`` as the protocol runs over it (TLS wraps it)."""
        return sock

    def _start_bounds(self, timeout: Optional[float]) -> Optional[float]:
        """Start the bounds; return the timeout given (else the instance's)."""
        given = timeout if timeout is not None else getattr(self, "_timeout", None)
        self.io_timeout = given or DEFAULT_TIMEOUT
        self._received = bytearray()
        self._reply_left = MAX_REPLY
        self._waiting_since = time.monotonic()
        self._last_unacknowledged = 0
        self._meanwhile: list[Callable[[], None]] = []
        return given

    def meanwhile(self, work: Callable[[], None]) -> None:
        """Do ``work`` once the next read would wait for the server: time
        that costs nothing of its own."""
        self._meanwhile.append(work)

    def _recv_some(self, size: int, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        return self.sock.recv(size)

    def _send_some(self, data: memoryview, timeout: float) -> int:
        self.sock.settimeout(timeout)
        return self.sock.send(data)

    def _unacknowledged(self) -> int:
        return unacknowledged_bytes(self.sock)

    def abort_connection(self) -> None:
        """Reset the connection, discarding what the kernel still holds: a
        draft whose upload is cut this way can never complete on the server."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass

    def send(self, data) -> None:
        view = memoryview(data)
        while view:
            view = view[self._send_some(view[:SEND], self.io_timeout):]
        self._waiting_since = time.monotonic()
        self._reply_left = MAX_REPLY
        self._last_unacknowledged = self._unacknowledged()

    def send_draft(self, data: DraftData) -> None:
        """Send ``data`` a slice at a time (never copied whole), with a
        progress bar for a big one."""
        if len(data) <= PROGRESS_FROM:
            self.send(whole(data))
            return
        sent, megabytes = 0, -(-len(data) // MEGABYTE)
        with ui.ui_factory.nested_progress_bar() as progress:
            for piece in slices(data):
                progress.update(PROGRESS_MESSAGE, sent // MEGABYTE, megabytes)
                self.send(piece)
                sent += len(piece)
            progress.update(PROGRESS_MESSAGE, megabytes, megabytes)

    def readline(self) -> bytes:
        while True:
            end = self._received.find(b"\n")
            if end >= 0:
                return self._take(end + 1)
            if len(self._received) > MAX_LINE:
                raise self.abort("the server sent a line longer than %d bytes"
                                 % MAX_LINE)
            if not self._receive():
                return self._take(len(self._received))  # EOF

    def read(self, size: int) -> bytes:
        if size > MAX_LITERAL:
            raise self.abort("the server sent a literal of %d bytes, more than"
                             " the %d brz accepts" % (size, MAX_LITERAL))
        while len(self._received) < size and self._receive():
            pass
        return self._take(min(size, len(self._received)))

    def pending_input(self) -> bool:
        """Whether bytes were received that nobody has read yet."""
        return bool(self._received)

    def _take(self, size: int) -> bytes:
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def _receive(self) -> bool:
        """Receive more before the deadline; False at EOF."""
        while self._meanwhile:
            self._meanwhile.pop(0)()
        while True:
            left = self._waiting_since + self.io_timeout - time.monotonic()
            if left <= 0:
                self._note_upload_progress()
                if time.monotonic() - self._waiting_since >= self.io_timeout:
                    raise ReplyTimeout(self.io_timeout,
                                       delivered=self._last_unacknowledged == 0)
                continue
            try:
                chunk = self._recv_some(RECEIVE, min(left, PROGRESS_PROBE))
            except (socket.timeout, ssl.SSLWantReadError):
                self._note_upload_progress()
                continue
            if not chunk:
                return False
            self._reply_left -= len(chunk)
            if self._reply_left < 0:
                raise self.abort("the server sent more than %d bytes without"
                                 " finishing its reply" % MAX_REPLY)
            self._received += chunk
            if self.sock is not None:  # a TLS handshake may come next
                self.sock.settimeout(self.io_timeout)
            return True

    def _note_upload_progress(self) -> None:
        """The peer taking more of what was sent counts as progress."""
        unacknowledged = self._unacknowledged()
        if unacknowledged < self._last_unacknowledged:
            self._waiting_since = time.monotonic()
        self._last_unacknowledged = unacknowledged


def tls_context(settings: IMAPSettings) -> ssl.SSLContext:
    """Certificate and host name checked: system CAs plus imap_ca_certs."""
    context = ssl.create_default_context()
    if settings.ca_certs:
        try:
            context.load_verify_locations(cafile=settings.ca_certs)
        except (OSError, ssl.SSLError) as e:
            raise errors.InvalidSetting(
                "imap_ca_certs", settings.ca_certs,
                "not a PEM file of certificates (%s)" % (e.strerror or e.reason),
                "/etc/ssl/certs/my-ca.pem",
            )
    return context


class LinkFacts(NamedTuple):
    """What ``brz imap-check`` reports of the link: the peer's address and
    port (None over a tunnel), and for TLS its version, the certificate's
    subject and expiry."""

    peer: Optional[tuple]
    tls_version: Optional[str] = None
    subject: str = ""
    not_after: str = ""


def link_facts(imap) -> LinkFacts:
    sock = getattr(imap, "sock", None)
    if sock is None:
        return LinkFacts(None)
    peer = sock.getpeername()[:2]
    if not isinstance(sock, ssl.SSLSocket):
        return LinkFacts(peer)
    certificate = sock.getpeercert() or {}
    subject = ", ".join("%s=%s" % pair for rdn in certificate.get("subject", ())
                        for pair in rdn)
    return LinkFacts(peer, sock.version(), subject, str(certificate.get("notAfter", "?")))


def addresses(settings: IMAPSettings) -> list[str]:
    """The server's addresses, as the connection will find them."""
    found = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    return sorted({address[4][0] for address in found})


def no_delay(sock: Optional[socket.socket]) -> None:
    """Send small writes at once: Nagle plus delayed ACKs costs 40 ms a turn."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def new_connection(host: str, port: int, timeout: Optional[float],
                   secure: Callable[[socket.socket], socket.socket]) -> socket.socket:
    """A new connection to ``host`` on ``port``, ``secure`` (a TLS
    handshake, or nothing) applied to it; closed again if that fails."""
    sock = socket.create_connection((host, port), timeout)
    try:
        return secure(sock)
    except BaseException:
        sock.close()
        raise


class PipeIO(BoundedIO):
    """BoundedIO over a command's standard input and output (imap_tunnel):
    ssh and Dovecot's imap want pipes, not a socket."""

    process: Optional[subprocess.Popen] = None
    sock = None

    def open(self, host="", port=None, timeout=None):
        self._start_bounds(timeout)
        self.host, self.port = host, port
        import subprocess

        self.process = subprocess.Popen(
            host, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            start_new_session=True)
        self._to_command = self.process.stdin.fileno()
        self._from_command = self.process.stdout.fileno()
        os.set_blocking(self._to_command, False)

    def _recv_some(self, size: int, timeout: float) -> bytes:
        if not select.select([self._from_command], [], [], timeout)[0]:
            raise socket.timeout("timed out")
        return os.read(self._from_command, size)

    def _send_some(self, data: memoryview, timeout: float) -> int:
        if not select.select([], [self._to_command], [], timeout)[1]:
            raise socket.timeout("timed out")
        try:
            return os.write(self._to_command, data)
        except BlockingIOError:
            return 0

    def _unacknowledged(self) -> int:
        # What the command has not read yet of what was written to it.
        return _queued(self._to_command, termios.FIONREAD)

    def abort_connection(self) -> None:
        self._stop(kill=True)

    def shutdown(self) -> None:
        self._stop(kill=False)

    def _stop(self, kill: bool) -> None:
        """The command ends when its input closes; if not, it is ended."""
        process = self.process
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        if kill:
            _kill_group(process)
        import subprocess

        try:
            process.wait(TUNNEL_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()


def _kill_group(process: subprocess.Popen) -> None:
    """The command runs in a session of its own: end all of it (the shell's
    children too, such as ssh)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


TUNNEL_EXIT_WAIT = 2.0
