"""Hosted stores we cannot reach, emulated honestly: our HTTP proxy in front of the real gateway.

Each profile is the list of things that provider's own documentation (or its users'
reports, where the documentation is silent) says it refuses, answered with the status,
code and message it answers with; each rule cites its source. Everything else goes
to the Ceph gateway unchanged, ``Host`` included, so signatures hold, and the
gateway's real answer comes back. Every refusal is recorded (``refused``), so a test
can say which rule a failure came from.

Public access that a provider grants in its console, never through the S3 API, is
set up the way that console would: ``make_public`` (B2's "Public" bucket type, as a
read policy on the gateway) or a second listener standing for R2's public bucket
domain (``public_url``), which serves the public bucket's objects anonymously and
nothing else.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

_CHECKSUM_HEADER = re.compile(r"^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$")
_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def segments(self) -> list[str]:
        return [part for part in self.path.split("/") if part]

    @property
    def bucket_level(self) -> bool:
        return len(self.segments) == 1

    @property
    def object_level(self) -> bool:
        return len(self.segments) >= 2

    def is_put_object(self) -> bool:
        return (
            self.method == "PUT"
            and self.object_level
            and not ({"partNumber", "uploadId", "acl", "tagging"} & set(self.query))
        )

    def is_form_upload(self) -> bool:
        """PostObject: an HTML form POSTed to the bucket."""
        return (
            self.method == "POST"
            and self.bucket_level
            and self.headers.get("content-type", "").startswith("multipart/form-data")
        )


@dataclass
class Store:
    """What a rule may remember between requests (multipart part sizes by upload id)."""

    part_sizes: dict[str, dict[int, int]] = field(default_factory=dict)


Rule = Callable[[Request, Store], Refusal | None]


# --- Cloudflare R2 ---------------------------------------------------------------------


def r2_no_post_object(request: Request, store: Store) -> Refusal | None:
    """ "POST, which performs uploads via native HTML forms, is not currently supported"
    (https://developers.cloudflare.com/r2/api/s3/presigned-urls/); answered 501
    NotImplemented "Presigned post requests are not yet implemented" (outline/outline#10650,
    piotrkulpinski/openads#14), with no CORS headers."""
    if request.is_form_upload():
        return Refusal(501, "NotImplemented", "Presigned post requests are not yet implemented")
    return None


def r2_full_object_checksums(request: Request, store: Store) -> Refusal | None:
    """PutObject: CRC64NVME is the only FULL_OBJECT checksum; CRC32, CRC32C, SHA1 and
    SHA256 only COMPOSITE; PutBucketCors and PutBucketLifecycleConfiguration take no
    x-amz-checksum-algorithm (https://developers.cloudflare.com/r2/api/s3/api/). Refused
    as 501 "Header '<name>' with value '<value>' not implemented" (Cloudflare's status
    page for boto3 1.36, quoted in RaspberryPiFoundation/editor-ui#1178;
    f2face/cloudflare-r2#12)."""
    bucket_settings = request.bucket_level and {"cors", "lifecycle"} & set(request.query)
    if not (request.is_put_object() or (request.method == "PUT" and bucket_settings)):
        return None
    for name, value in request.headers.items():
        algorithm = _CHECKSUM_HEADER.match(name)
        if algorithm and algorithm.group(1) != "crc64nvme":
            return Refusal(
                501, "NotImplemented", f"Header '{name}' with value '{value}' not implemented"
            )
    algorithm = request.headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if algorithm and algorithm != "CRC64NVME":
        return Refusal(
            501,
            "NotImplemented",
            f"Header 'x-amz-sdk-checksum-algorithm' with value '{algorithm}' not implemented",
        )
    return None


def r2_no_aws_chunked(request: Request, store: Store) -> Refusal | None:
    """aws-chunked (streaming) payloads: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD not implemented"
    (cloudflare/cloudflare-docs#6133, bitfoundation/bitplatform#13362)."""
    payload = request.headers.get("x-amz-content-sha256", "")
    if payload.startswith("STREAMING-"):
        return Refusal(501, "NotImplemented", f"{payload} not implemented")
    return None


def r2_no_bucket_policy(request: Request, store: Store) -> Refusal | None:
    """PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy are "Unimplemented"
    (https://developers.cloudflare.com/r2/api/s3/api/), answered "<Operation> not
    implemented" (Cloudflare's R2 emulator in workers-sdk, captured from a real bucket)."""
    if request.bucket_level and "policy" in request.query:
        operation = {"PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"}.get(
            request.method, "GetBucketPolicy"
        )
        return Refusal(501, "NotImplemented", f"{operation} not implemented")
    return None


def r2_no_acls(request: Request, store: Store) -> Refusal | None:
    """PutBucketAcl and PutObjectAcl are "Unimplemented" (same page)."""
    if request.method == "PUT" and "acl" in request.query:
        operation = "PutBucketAcl" if request.bucket_level else "PutObjectAcl"
        return Refusal(501, "NotImplemented", f"{operation} not implemented")
    return None


def r2_equal_part_sizes(request: Request, store: Store) -> Refusal | None:
    """ "All parts except the last one must be the same size. The last part ... must be the
    same or smaller than the other parts" (https://developers.cloudflare.com/r2/objects/multipart-objects/);
    400 InvalidPart (https://developers.cloudflare.com/r2/api/error-codes/)."""
    upload_id = (request.query.get("uploadId") or [""])[0]
    if request.method == "PUT" and upload_id and "partNumber" in request.query:
        size = int(
            request.headers.get("x-amz-decoded-content-length")
            or request.headers.get("content-length", "0")
        )
        store.part_sizes.setdefault(upload_id, {})[int(request.query["partNumber"][0])] = size
    elif request.method == "POST" and upload_id:
        sizes = [size for _, size in sorted(store.part_sizes.pop(upload_id, {}).items())]
        if sizes and (len(set(sizes[:-1])) > 1 or (len(sizes) > 1 and sizes[-1] > sizes[0])):
            return Refusal(400, "InvalidPart", "All non-trailing parts must have the same size.")
    return None


# --- Backblaze B2 -----------------------------------------------------------------------


def b2_no_post_object(request: Request, store: Store) -> Refusal | None:
    """ "Backblaze B2's S3 API does not implement POST Object and returns 501 Not Implemented"
    (safebucket/safebucket#1278; transloadit/uppy#5052). B2's body for it is not
    documented: the message here is S3's generic one."""
    if request.is_form_upload():
        return Refusal(501, "NotImplemented", _NOT_IMPLEMENTED)
    return None


def b2_no_checksum_headers(request: Request, store: Store) -> Refusal | None:
    """400 InvalidArgument "Unsupported header 'x-amz-sdk-checksum-algorithm' received for
    this API call." (jschneier/django-storages#1498); the x-amz-checksum-* headers are
    listed unsupported the same way (B2's S3-compatible API page, quoted by
    lemonsaurus/blackbox#160)."""
    for name in request.headers:
        if _CHECKSUM_HEADER.match(name) or name in (
            "x-amz-sdk-checksum-algorithm",
            "x-amz-checksum-algorithm",
        ):
            return Refusal(
                400, "InvalidArgument", f"Unsupported header '{name}' received for this API call."
            )
    return None


def b2_no_conditional_writes(request: Request, store: Store) -> Refusal | None:
    """Conditional PutObject: "A header you provided implies functionality that is not
    implemented." (sathinduga/obsidian-s3-sync-and-backup#78)."""
    writes = request.is_put_object() or (request.method == "POST" and "uploadId" in request.query)
    if writes and ("if-none-match" in request.headers or "if-match" in request.headers):
        return Refusal(501, "NotImplemented", _NOT_IMPLEMENTED)
    return None


def b2_no_bucket_policy(request: Request, store: Store) -> Refusal | None:
    """Bucket policies are not among B2's S3 calls: visibility is the bucket type
    (https://www.backblaze.com/docs/cloud-storage-s3-compatible-api); 501 inferred."""
    if request.bucket_level and "policy" in request.query:
        return Refusal(501, "NotImplemented", _NOT_IMPLEMENTED)
    return None


# --- MinIO ------------------------------------------------------------------------------


def minio_no_bucket_cors(request: Request, store: Store) -> Refusal | None:
    """PutBucketCors and DeleteBucketCors are "dummy" handlers answering ErrNotImplemented;
    GetBucketCors answers ErrNoSuchCORSConfiguration (cmd/dummy-handlers.go and
    cmd/api-errors.go in minio/minio). CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN)."""
    if not (request.bucket_level and "cors" in request.query):
        return None
    if request.method == "GET":
        return Refusal(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
    return Refusal(501, "NotImplemented", _NOT_IMPLEMENTED)


# --- AWS S3 -----------------------------------------------------------------------------


def aws_no_acls(request: Request, store: Store) -> Refusal | None:
    """Buckets created since April 2023 have ACLs disabled: "Requests to set ACLs or update
    ACLs fail with a 400 error and return the AccessControlListNotSupported error code"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html);
    message as seen in jakejarvis/s3-sync-action#85."""
    if "x-amz-acl" in request.headers or (request.method == "PUT" and "acl" in request.query):
        return Refusal(400, "AccessControlListNotSupported", "The bucket does not allow ACLs")
    return None


#: What each emulated provider refuses. MinIO, DigitalOcean Spaces and "generic" are
#: emulated with what their documentation says they refuse among the calls we make:
#: nothing for Spaces (its unsupported calls are ones we never make).
PROFILES: dict[str, list[Rule]] = {
    "aws": [aws_no_acls],
    "r2": [
        r2_no_post_object,
        r2_full_object_checksums,
        r2_no_aws_chunked,
        r2_no_bucket_policy,
        r2_no_acls,
        r2_equal_part_sizes,
    ],
    "b2": [
        b2_no_post_object,
        b2_no_checksum_headers,
        b2_no_conditional_writes,
        b2_no_bucket_policy,
    ],
    "spaces": [],
    "minio": [minio_no_bucket_cors],
    "generic": [],
}


class StoreEmulator:
    """An HTTP/1.1 proxy on 127.0.0.1 that answers as ``profile``'s provider would.

    ``public_bucket`` (R2): a second listener, ``public_url``, serves that bucket's
    objects to anyone, as a public bucket domain does; it fetches them from the gateway
    with a presigned GET made with ``signer`` (a boto3 client for the gateway).
    """

    def __init__(
        self,
        upstream_port: int,
        profile: str,
        *,
        public_bucket: str | None = None,
        signer: object | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.profile = profile
        self.rules = list(PROFILES[profile])
        self.refused: list[tuple[str, Refusal]] = []
        #: Every request passed on to the gateway, as (method, path).
        self.forwarded: list[tuple[str, str]] = []
        self.store = Store()
        self._lock = threading.Lock()
        self._listener = _listen()
        self.port = self._listener.getsockname()[1]
        threading.Thread(
            target=self._serve, args=(self._listener, self._handle), daemon=True
        ).start()
        self.public_url: str | None = None
        if public_bucket is not None:
            self._public_bucket, self._signer = public_bucket, signer
            self._public = _listen()
            self.public_url = f"127.0.0.1:{self._public.getsockname()[1]}"
            threading.Thread(
                target=self._serve, args=(self._public, self._handle_public), daemon=True
            ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def without(self, rule: Rule) -> None:
        """Stop applying one rule (to show what our handling of it is worth)."""
        self.rules.remove(rule)

    def close(self) -> None:
        for listener in (self._listener, getattr(self, "_public", None)):
            if listener is not None:
                with contextlib.suppress(OSError):
                    listener.shutdown(socket.SHUT_RDWR)
                listener.close()

    @staticmethod
    def _serve(listener: socket.socket, handle: Callable[[socket.socket], None]) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        upstream: socket.socket | None = None
        upstream_reader = None
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                request_line, headers, raw_lines = head
                method, target, _ = request_line.split(" ", 2)
                parts = urlsplit(target)
                request = Request(
                    method,
                    unquote(parts.path),
                    parse_qs(parts.query, keep_blank_values=True),
                    headers,
                )
                if headers.get("expect", "").lower() == "100-continue":
                    refusal = self._refusal(request)  # on the head, as the store would
                    if refusal is not None:
                        _send_refusal(client, refusal, close=True)
                        return
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                request.body = _read_body(reader, headers)
                refusal = self._refusal(request)
                if refusal is not None:
                    _send_refusal(client, refusal)
                    continue
                with self._lock:
                    self.forwarded.append((method, request.path))
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
                    upstream_reader = upstream.makefile("rb")
                forwarded = [request_line] + [
                    line for line in raw_lines if not line.lower().startswith("expect:")
                ]
                upstream.sendall(
                    ("\r\n".join(forwarded) + "\r\n\r\n").encode("latin-1") + request.body
                )
                if not _relay_response(upstream_reader, client, method):
                    return
        except (OSError, ValueError):
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _refusal(self, request: Request) -> Refusal | None:
        with self._lock:
            for rule in self.rules:
                refusal = rule(request, self.store)
                if refusal is not None:
                    self.refused.append((rule.__name__, refusal))
                    return refusal
        return None

    def _handle_public(self, client: socket.socket) -> None:
        """GET/HEAD of a key of the public bucket, for anyone; nothing else."""
        reader = client.makefile("rb")
        try:
            head = _read_head(reader)
            if head is None:
                return
            method, target, _ = head[0].split(" ", 2)
            key = unquote(urlsplit(target).path).lstrip("/")
            if method not in ("GET", "HEAD") or not key:
                _send_refusal(
                    client, Refusal(405, "MethodNotAllowed", "GET and HEAD only"), close=True
                )
                return
            url = self._signer.generate_presigned_url(  # type: ignore[attr-defined]
                "get_object" if method == "GET" else "head_object",
                Params={"Bucket": self._public_bucket, "Key": key},
                ExpiresIn=60,
            )
            try:
                with urllib.request.urlopen(urllib.request.Request(url, method=method)) as answer:
                    status, body, headers = answer.status, answer.read(), answer.headers
            except urllib.error.HTTPError as err:
                status, body, headers = err.code, err.read(), err.headers
            lines = [f"HTTP/1.1 {status} X"]
            for name in ("Content-Type", "Cache-Control", "Content-Disposition", "ETag"):
                if headers.get(name):
                    lines.append(f"{name}: {headers[name]}")
            lines += [f"Content-Length: {len(body)}", "Connection: close"]
            client.sendall(
                ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                + (body if method == "GET" else b"")
            )
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                client.close()


def _listen() -> socket.socket:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


def _read_head(reader) -> tuple[str, dict[str, str], list[str]] | None:
    lines: list[str] = []
    while True:
        line = reader.readline(65536)
        if not line:
            return None
        line = line.decode("latin-1").rstrip("\r\n")
        if not line:
            if lines:
                break
            continue
        lines.append(line)
    headers = {}
    for raw in lines[1:]:
        name, _, value = raw.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, lines[1:]


def _read_body(reader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(reader)
    length = int(headers.get("content-length") or 0)
    return reader.read(length) if length else b""


def _read_chunked(reader) -> bytes:
    """The raw chunked body (forwarded as it came)."""
    raw = bytearray()
    while True:
        size_line = reader.readline(65536)
        raw += size_line
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                line = reader.readline(65536)
                raw += line
                if line in (b"\r\n", b"\n", b""):
                    return bytes(raw)
        raw += reader.read(size + 2)


def _relay_response(upstream_reader, client: socket.socket, method: str) -> bool:
    """Copy one response from the gateway; False when the connection must close."""
    while True:
        head = _read_head(upstream_reader)
        if head is None:
            return False
        status_line, headers, raw_lines = head
        client.sendall(("\r\n".join([status_line, *raw_lines]) + "\r\n\r\n").encode("latin-1"))
        status = int(status_line.split(" ", 2)[1])
        if 100 <= status < 200:
            continue
        break
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(upstream_reader)
    elif "content-length" in headers:
        body = upstream_reader.read(int(headers["content-length"]))
    else:
        client.sendall(upstream_reader.read())
        return False
    client.sendall(body)
    return headers.get("connection", "").lower() != "close"


def _send_refusal(client: socket.socket, refusal: Refusal, *, close: bool = False) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refusal.code}</Code><Message>{refusal.message}</Message></Error>"
    ).encode()
    lines = [
        f"HTTP/1.1 {refusal.status} {refusal.code}",
        "Content-Type: application/xml",
        f"Content-Length: {len(body)}",
    ]
    if close:
        lines.append("Connection: close")
    client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
