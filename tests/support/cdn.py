"""A minimal CDN on 127.0.0.1: serves bucket objects with its own (origin) access.

Like CloudFront with origin access control, it reads the bucket with credentials,
so what it serves does not depend on the bucket policy; ``prefixes`` restricts it
to some paths (None: the whole bucket).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError


class Cdn:
    def __init__(self, client: Any, bucket: str, prefixes: Sequence[str] | None = None) -> None:
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                key = self.path.split("?")[0].lstrip("/")
                if cdn.prefixes is not None and not key.startswith(tuple(cdn.prefixes)):
                    self.send_error(403)
                    return
                try:
                    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
                except ClientError:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.prefixes = prefixes
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.domain = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
