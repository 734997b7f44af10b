"""Shared set-up for the benchmarks: a real Ceph gateway, a counting proxy, Django in-process.

Benchmarks print ratios against a baseline measured in the same run, because the
machines they run on are noisy; absolute times are printed for context only.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.app_server import Database  # noqa: E402
from tests.support.s3 import S3Server, start_s3_server  # noqa: E402


def setup_django(tmp: Path, **environment: str) -> None:
    """Configure Django in this process (SQLite in ``tmp`` unless ``environment`` says else)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update(
        {
            "SECRET_KEY": "bench-" + "k" * 50,
            "DEBUG": "False",
            "SECURE_SSL_REDIRECT": "False",
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "UPLOAD_THROTTLE_RATE": "1000000/hour",
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "LOG_LEVEL": "ERROR",
            **environment,
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def postgres_database(tmp: Path) -> Database:
    """A fresh PostgreSQL database on the server named by DATABASE_URL (default: local)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    return Database.create(base, tmp)


def start_gateway(tmp: Path) -> S3Server:
    return start_s3_server(tmp / "ceph")


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each function, run alternately so drift hits all equally."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def noise_jpeg(megabytes: float) -> bytes:
    """A JPEG of roughly ``megabytes`` (noise compresses badly, like a busy photo)."""
    from PIL import Image

    side = int((megabytes * 1024 * 1024 / 1.2) ** 0.5 / 1.0)
    for _ in range(6):
        buffer = io.BytesIO()
        Image.effect_noise((side, side), 90).convert("RGB").save(buffer, format="JPEG", quality=95)
        size = buffer.tell() / (1024 * 1024)
        if abs(size - megabytes) / megabytes < 0.1:
            break
        side = int(side * (megabytes / size) ** 0.5)
    return buffer.getvalue()


class _Proxy:
    """A listener of ours on 127.0.0.1 that opens a connection to the gateway for each
    client and hands both to :meth:`_connected`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._connected(client, socket.create_connection(self.upstream))

    def _connected(self, client: socket.socket, upstream: socket.socket) -> None:
        raise NotImplementedError


class CountingProxy(_Proxy):
    """HTTP/1.1 proxy of our own in front of the gateway, counting requests by method."""

    def __init__(self, upstream_port: int) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        super().__init__(upstream_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> Counter[str]:
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def _connected(self, client: socket.socket, upstream: socket.socket) -> None:
        threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    break
                headers = [line]
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    headers.append(header)
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                with self._lock:
                    self.counts[line.split(b" ", 1)[0].decode()] += 1
                upstream.sendall(b"".join(headers) + b"\r\n")
                while length:
                    chunk = reader.read(min(length, 1 << 20))
                    upstream.sendall(chunk)
                    length -= len(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_RDWR)


class LinkProxy(_Proxy):
    """TCP proxy of our own that makes the gateway as far away as a store on a network:
    each direction is paced to ``mbit`` megabits per second and delivered ``rtt_ms`` / 2
    later, so a request costs a round trip and its bytes' time on the wire, as from an
    app to its object store, instead of a loopback copy."""

    def __init__(self, upstream_port: int, *, rtt_ms: float, mbit: float) -> None:
        self.one_way = rtt_ms / 2000
        self.bytes_per_second = mbit * 1e6 / 8
        super().__init__(upstream_port)

    def _connected(self, client: socket.socket, upstream: socket.socket) -> None:
        for source, target in ((client, upstream), (upstream, client)):
            self._direction(source, target)

    def _direction(self, source: socket.socket, target: socket.socket) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
        on_the_wire = [0.0]  # when the link is free again in this direction

        def receive() -> None:
            try:
                while data := source.recv(1 << 16):
                    sent = max(time.perf_counter(), on_the_wire[0])
                    on_the_wire[0] = sent + len(data) / self.bytes_per_second
                    chunks.put((on_the_wire[0] + self.one_way, data))
            except OSError:
                pass
            chunks.put((0.0, b""))

        def deliver() -> None:
            try:
                while True:
                    due, data = chunks.get()
                    if not data:
                        break
                    if (wait := due - time.perf_counter()) > 0:
                        time.sleep(wait)
                    target.sendall(data)
            except OSError:
                pass
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

        threading.Thread(target=receive, daemon=True).start()
        threading.Thread(target=deliver, daemon=True).start()


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-"))


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n## {title}\n")
    print("| measure | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.stdout.flush()
