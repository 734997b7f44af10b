"""The promise of the project, checked with real processes: uploads are never lost."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.app_server import manage
from tests.support.http import fetch
from tests.support.images import image_bytes
from tests.support.multipart import request
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.s3


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def post_product(server, token, name, data, filename="photo.jpg"):
    return request(
        "POST",
        server.url("/api/core/products/"),
        token=token,
        fields={"name": name, "price": "3.00"},
        files=[("image", filename, data, "image/jpeg")],
    )


def post_order(server, token, product_id, *images):
    files = [("images", name, data, "image/jpeg") for name, data in images]
    lines = json.dumps([{"product": product_id, "quantity": 1}])
    return request(
        "POST", server.url("/api/core/orders/"), token=token, fields={"lines": lines}, files=files
    )


def all_images(server, tokens) -> dict[str, str]:
    """url-independent identity (sha256 from the API) -> fetched sha256, for every image."""
    seen = {}
    products = request("GET", server.url("/api/core/products/?page_size=100")).json()["results"]
    orders = request(
        "GET", server.url("/api/core/orders/?page_size=100"), token=tokens["staff"]
    ).json()["results"]
    images = [p["image"] for p in products if p["image"]] + [
        i["image"] for o in orders for i in o["images"]
    ]
    for image in images:
        fetched = fetch(image["url"])
        assert fetched.status == 200, image["url"]
        seen[image["sha256"]] = sha(fetched.body)
    return seen


def test_uploads_survive_a_restart_that_wipes_the_disk(deployment, figures):
    first = deployment.start()
    staff, alice = deployment.tokens["staff"], deployment.tokens["alice"]
    uploaded = {}
    for n, color in enumerate(("red", "green")):
        response = post_product(first, staff, f"Poster {n}", image_bytes(color=color))
        assert response.status == 201, response.body
        image = response.json()["image"]
        uploaded[image["sha256"]] = sha(fetch(image["url"]).body)
    product_id = deployment.product_id()
    order = post_order(
        first,
        alice,
        product_id,
        ("a.jpg", image_bytes(color="blue")),
        ("b.jpg", image_bytes("PNG")),
    )
    assert order.status == 201, order.body
    for item in order.json()["images"]:
        uploaded[item["image"]["sha256"]] = sha(fetch(item["image"]["url"]).body)
    assert all(api == fetched for api, fetched in uploaded.items())

    first.kill()
    first.wipe_disk()  # the ephemeral disk is gone
    second = deployment.start()
    after = all_images(second, deployment.tokens)
    survived = sum(after.get(key) == value for key, value in uploaded.items())
    figures(f"uploads survived restart + wiped disk: {survived}/{len(uploaded)}")
    assert survived == len(uploaded) == 4


def test_two_instances_share_the_database_and_bucket(deployment, figures):
    one, two = deployment.start(), deployment.start()
    created = post_product(one, deployment.tokens["staff"], "Shared", image_bytes(color="purple"))
    assert created.status == 201
    product = request("GET", two.url(f"/api/core/products/{created.json()['id']}/")).json()
    assert sha(fetch(product["image"]["url"]).body) == created.json()["image"]["sha256"]
    order = post_order(
        two, deployment.tokens["alice"], product["id"], ("x.jpg", image_bytes(color="orange"))
    )
    on_one = request(
        "GET", one.url(f"/api/core/orders/{order.json()['id']}/"), token=deployment.tokens["alice"]
    )
    signed = on_one.json()["images"][0]["image"]
    assert sha(fetch(signed["url"]).body) == signed["sha256"]
    figures("upload on instance A, read on instance B: ok")


def test_store_outage_gives_bounded_503_and_recovers(deployment, figures, s3_server):
    upstream_port = s3_server.port
    proxy = TcpProxy(upstream_port)
    try:
        server = deployment.start(AWS_S3_ENDPOINT_URL=proxy.url)
        product_id = deployment.product_id()
        alice = deployment.tokens["alice"]
        assert post_order(server, alice, product_id, ("ok.jpg", image_bytes())).status == 201
        for mode in ("blackhole", "reset", "delay"):
            proxy.set_mode(mode, delay_seconds=10)
            before = deployment.order_count(server)
            keys_before = deployment.keys()
            response = post_order(server, alice, product_id, ("p.jpg", image_bytes(color="gray")))
            figures(f"store {mode}: HTTP {response.status} after {response.seconds:.1f}s")
            assert response.status == 503, response.body
            assert "Try again" in response.json()["detail"]
            # attempts x (connect + read) = 2 x (2 s + 3 s), plus the request itself
            assert response.seconds < 25
            assert deployment.order_count(server) == before  # no row written
            assert deployment.keys() == keys_before  # and no object
            assert request("GET", server.url("/api/core/products/")).status == 200
            assert request("GET", server.url("/healthz")).status == 200
        proxy.set_mode("pass")
        assert post_order(server, alice, product_id, ("back.jpg", image_bytes())).status == 201
    finally:
        proxy.close()


def test_gateway_stopped_then_started_again(deployment, figures, s3_server):
    if s3_server.env is None:
        pytest.skip("the S3 server is external; it cannot be stopped here")
    server = deployment.start()
    product_id = deployment.product_id()
    alice = deployment.tokens["alice"]
    try:
        s3_server.ceph("stop")
        response = post_order(server, alice, product_id, ("down.jpg", image_bytes()))
        figures(f"gateway stopped: HTTP {response.status} after {response.seconds:.1f}s")
        assert response.status == 503
        assert request("GET", server.url("/api/core/products/")).status == 200
    finally:
        s3_server.ceph("start")
    assert post_order(server, alice, product_id, ("up.jpg", image_bytes())).status == 201


def test_database_failure_after_the_object_is_written_leaves_no_orphan(deployment, figures):
    server = deployment.start()
    product_id = deployment.product_id()
    before = set(deployment.keys("private/"))
    if deployment.database.is_postgres:
        deployment.database.execute(
            # The database runs out of disk just as the rows are written.
            "CREATE FUNCTION e2e_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected' "
            "USING ERRCODE = 'disk_full'; "
            "END $$ LANGUAGE plpgsql; CREATE TRIGGER e2e_fail BEFORE INSERT ON core_orderimage"
            " FOR EACH ROW EXECUTE FUNCTION e2e_fail();"
        )
        drop = "DROP TRIGGER e2e_fail ON core_orderimage; DROP FUNCTION e2e_fail();"
    else:
        deployment.database.execute(
            "CREATE TRIGGER e2e_fail BEFORE INSERT ON core_orderimage "
            "BEGIN SELECT RAISE(ABORT, 'injected'); END;"
        )
        drop = "DROP TRIGGER e2e_fail;"
    try:
        response = post_order(
            server,
            deployment.tokens["alice"],
            product_id,
            ("a.jpg", image_bytes()),
            ("b.jpg", image_bytes()),
        )
    finally:
        deployment.database.execute(drop)
    # PostgreSQL: a full disk is the database failing (503); SQLite reports a trigger's
    # RAISE as a constraint failure (a conflict: 409).
    assert response.status == (503 if deployment.database.is_postgres else 409), response.body
    orphans = set(deployment.keys("private/")) - before
    figures(f"database failed after upload: {len(orphans)} orphan object(s)")
    assert orphans == set()
    check = manage(deployment.env, "media_orphans", "--check", "--min-age-minutes", "0")
    assert check.returncode == 0, check.stdout + check.stderr


def test_50_concurrent_uploads_with_the_same_name(deployment, figures):
    server = deployment.start()
    product_id = deployment.product_id()
    bodies = [image_bytes(color=(n * 5, 255 - n * 5, n)) for n in range(50)]
    before = set(deployment.keys("private/"))

    def upload(body: bytes):
        return post_order(server, deployment.tokens["bob"], product_id, ("photo.jpg", body))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(upload, bodies))
    elapsed = time.monotonic() - started
    assert [r.status for r in responses] == [201] * 50
    images = [r.json()["images"][0]["image"] for r in responses]
    new_keys = set(deployment.keys("private/")) - before
    figures(
        f"50 concurrent 'photo.jpg' uploads: {len(new_keys)} distinct objects in {elapsed:.1f}s"
    )
    assert len(new_keys) == 50
    assert len({image["url"].split("?")[0] for image in images}) == 50
    for image in images:  # each object holds its own upload, none overwritten
        assert sha(fetch(image["url"]).body) == image["sha256"]
    assert len({image["sha256"] for image in images}) == 50


def test_replacing_and_deleting_remove_old_objects(deployment):
    server = deployment.start()
    worker = deployment.worker().start()  # removes objects once their rows are gone
    staff = deployment.tokens["staff"]
    created = post_product(server, staff, "Replace me", image_bytes(color="red")).json()
    old_url = created["image"]["url"]
    replaced = request(
        "PATCH",
        server.url(f"/api/core/products/{created['id']}/"),
        token=staff,
        files=[("image", "new.png", image_bytes("PNG"), "image/png")],
    )
    assert replaced.status == 200
    gone_within(30, old_url)
    new_url = replaced.json()["image"]["url"]
    assert fetch(new_url).status == 200
    assert (
        request("DELETE", server.url(f"/api/core/products/{created['id']}/"), token=staff).status
        == 204
    )
    gone_within(30, new_url)
    worker.stop()


def gone_within(seconds: float, url: str) -> None:
    deadline = time.monotonic() + seconds
    while fetch(url).status not in (403, 404):
        assert time.monotonic() < deadline, f"{url} still there after {seconds} s"
        time.sleep(0.2)


def test_an_oversized_body_is_refused_before_it_is_read(deployment, figures):
    server = deployment.start(MEDIA_MAX_UPLOAD_BYTES="1000000")
    token = deployment.tokens["alice"]
    declared = 500 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/core/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Token {token}\r\nAccept: application/json\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {declared}\r\n\r\n"
            ).encode()
            + b"--xyz\r\n"
            + b"\x00" * 65536
        )
        started = time.monotonic()
        reply = b""
        while b"at most" not in reply and time.monotonic() - started < 10:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    figures(
        f"500 MB declared body: answered after {time.monotonic() - started:.2f}s having sent 64 KB"
    )
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"at most" in reply
