"""A TCP proxy of our own, to put real network faults between the app and S3.

Modes: ``pass`` forwards; ``delay`` forwards after ``delay_seconds`` per chunk;
``blackhole`` accepts and never answers; ``reset`` accepts and closes at once;
``lose-answers`` forwards requests to the store but drops what it answers; ``corrupt``
flips one byte of each request body on its way (the first byte after the head of a
request), as a broken middlebox would.
Only listens on 127.0.0.1 and only forwards to the given local upstream port.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time


class TcpProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.mode = "pass"
        self.delay_seconds = 0.0
        self.connections = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str, delay_seconds: float = 0.0) -> None:
        """Switch mode and cut existing connections, so pooled keep-alives see the change."""
        self.mode, self.delay_seconds = mode, delay_seconds
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def stop_listening(self) -> None:
        """Refuse new connections (as a store that went away) and leave open ones be."""
        self._stopped.set()
        with contextlib.suppress(OSError):  # wakes the accept() blocked in another thread
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def close(self) -> None:
        self.stop_listening()
        self.set_mode("reset")

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            mode = self.mode
            if mode == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            self._track(client)
            if mode == "blackhole":
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for source, target, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pump, args=(source, target, answers), daemon=True
                ).start()

    def _swallow(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass

    def _pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        body_next = False  # "corrupt": a head ended a chunk, its body comes in the next one
        try:
            while data := source.recv(65536):
                if self.mode == "delay":
                    time.sleep(self.delay_seconds)
                if answers and self.mode == "lose-answers":
                    continue
                if not answers and self.mode == "corrupt":
                    data, body_next = _flip_body_byte(data, body_next)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _flip_body_byte(data: bytes, body_next: bool) -> tuple[bytes, bool]:
    """``data`` with the first byte of a request body inverted, and whether the body of a
    head that ended this chunk is still to come (a client waiting for 100 Continue)."""
    if body_next:
        return bytes([data[0] ^ 0xFF]) + data[1:], False
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return data, False
    at = end + 4
    if at >= len(data):
        return data, b"expect: 100-continue" in data[:end].lower()
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :], False
