"""The storefront in a real Chromium, against gunicorn and the Ceph gateway.

The page (127.0.0.1:<app port>) and the bucket (127.0.0.1:<gateway port>) are
different origins, and the upload registers progress listeners, so the browser
makes a real CORS preflight to the gateway before each upload.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from media_store.storage.bucket import apply_cors
from tests.support.browser import PAGE_ENV, add_product, images_loaded, sign_in
from tests.support.images import image_bytes, phone_photo
from tests.support.multipart import request

pytestmark = pytest.mark.s3


def page_server(deployment, **env: str):
    """An instance serving the page, whose origin the bucket's CORS rules allow."""
    server = deployment.server(**PAGE_ENV, **env)
    apply_cors(deployment.s3.client(), deployment.bucket, [server.base_url])
    return server.start(collectstatic=True)


def test_order_with_two_images_through_the_page(deployment, browser, page, tmp_path, figures):
    server = page_server(deployment)
    created = add_product(
        server,
        deployment,
        "Framed print",
        "25.00",
        files=[("image", "print.jpg", image_bytes("JPEG", size=(900, 600)), "image/jpeg")],
    )

    sign_in(page, server, "alice")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    grid = page.eval_on_selector(".product img", "img => [img.naturalWidth, img.currentSrc]")
    assert grid[0] > 0 and grid[1].endswith(".jpg")  # the original until renditions are made

    worker = deployment.worker().start()
    product = f"/api/core/products/{created['id']}/"
    deadline = time.monotonic() + 60
    while request("GET", server.url(product)).json()["image"]["srcset"] == "":
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.2)
    worker.stop()
    fresh = browser.new_context().new_page()  # a cold cache: Chromium reuses a cached original
    fresh.goto(server.url("/"))
    fresh.wait_for_function("() => [...document.images].every(i => i.complete)")
    grid = fresh.eval_on_selector(
        ".product img",
        "img => [img.naturalWidth, img.currentSrc, img.fetchPriority, img.style.backgroundImage]",
    )
    fresh.context.close()
    assert grid[0] > 0 and "_w" in grid[1] and grid[1].endswith(".webp")  # a rendition
    assert grid[2] == "high"  # the first image on the page
    assert grid[3].startswith('url("data:image/png;base64,')  # its placeholder, until it loads

    files = []
    for name, fmt, color in (("first.jpg", "JPEG", "red"), ("second.png", "PNG", "blue")):
        path = tmp_path / name
        path.write_bytes(image_bytes(fmt, size=(300, 200), color=color))
        files.append(str(path))
    page.select_option("select[name=product]", label="Framed print (25.00 USD)")
    page.set_input_files("input[name=images]", files)
    bucket_requests: list[str] = []
    page.on(
        "requestfinished",
        lambda r: bucket_requests.append(r.method) if deployment.s3.endpoint_url in r.url else None,
    )
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-result img.order-image >> nth=1", timeout=30_000)
    assert page.eval_on_selector("#progress", "p => p.value") == 100
    assert page.text_content("#progress-text") == "100%"
    assert page.is_hidden("#order-error")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-result img')].every(i => i.complete)"
    )
    assert all(width > 0 for width in images_loaded(page, "#order-result img"))
    assert bucket_requests.count("POST") == 2  # bytes went straight to the bucket
    status = page.text_content("#order-status")
    figures(f"browser order: {status} with 2 images, progress 100%")

    # Restart on a wiped disk: the order's images are still there.
    server.kill()
    server.wipe_disk()
    again = deployment.server(**PAGE_ENV)
    again.start(collectstatic=True)
    later = browser.new_context().new_page()  # the customer comes back later
    sign_in(later, again, "alice")
    later.wait_for_function(
        "() => [...document.querySelectorAll('#orders img')].every(i => i.complete)"
    )
    widths = images_loaded(later, "#orders img")
    assert len(widths) == 2 and all(w > 0 for w in widths)
    later.context.close()


def test_an_upload_the_bucket_refuses_is_shown_clearly(deployment, page, tmp_path):
    server = page_server(deployment, MEDIA_MAX_UPLOAD_BYTES="200000")
    sign_in(page, server, "bob")
    page.wait_for_selector("select[name=product] option", state="attached")

    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\x00" * 300_000)
    page.set_input_files("input[name=images]", [str(big)])
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-error:not([hidden])")  # after the page tried to shrink it
    assert "larger than" in page.text_content("#order-error")

    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    page.set_input_files("input[name=images]", [str(fake)])
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-error:not([hidden])")
    page.wait_for_function(
        "() => document.querySelector('#order-error').textContent.includes('HTML')"
    )

    apply_cors(
        deployment.s3.client(), deployment.bucket, []
    )  # the bucket no longer allows this origin
    ok = tmp_path / "ok.jpg"
    ok.write_bytes(image_bytes())
    page.set_input_files("input[name=images]", [str(ok)])
    page.click("#order-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#order-error').textContent.includes('CORS')"
    )


def test_without_s3_the_page_posts_through_the_api(deployment, page, tmp_path):
    """Development mode (local disk): the same form falls back to a multipart POST."""
    server = deployment.server(**PAGE_ENV, USE_S3="False", DEBUG="True")
    server.start(collectstatic=True)
    add_product(server, deployment, "Local poster", "3.00")
    sign_in(page, server, "bob")
    path = tmp_path / "local.png"
    path.write_bytes(image_bytes("PNG", size=(120, 80)))
    page.select_option("select[name=product]", label="Local poster (3.00 USD)")
    page.set_input_files("input[name=images]", [str(path)])
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-result img.order-image", timeout=30_000)
    assert page.text_content("#progress-text") == "100%"
    page.wait_for_function(
        "() => [...document.querySelectorAll('#order-result img')].every(i => i.complete)"
    )
    assert all(width > 0 for width in images_loaded(page, "#order-result img"))


def alice_order_ids(server, deployment) -> list[int]:
    listed = request("GET", server.url("/api/core/orders/"), token=deployment.tokens["alice"])
    return [order["id"] for order in listed.json()["results"]]


def test_double_submits_and_retries_place_one_order_and_list_it(deployment, page, tmp_path):
    """Idempotency-Key per submission: a second submit or a retry never makes a second order."""
    server = page_server(deployment)
    add_product(server, deployment, "Once only", "4.00")
    before = alice_order_ids(server, deployment)
    sign_in(page, server, "alice")
    path = tmp_path / "once.png"
    path.write_bytes(image_bytes("PNG", size=(120, 80)))

    # 1. Two submissions in the same instant (a double click, a double tap), then a dblclick.
    page.select_option("select[name=product]", label="Once only (4.00 USD)")
    page.set_input_files("input[name=images]", [str(path)])
    page.eval_on_selector("#order-form", "form => { form.requestSubmit(); form.requestSubmit(); }")
    page.wait_for_selector("#order-result img.order-image", timeout=30_000)
    # Placed: the form starts afresh (no files, no note) so the next order is a new one.
    assert page.eval_on_selector("input[name=images]", "input => input.files.length") == 0
    page.set_input_files("input[name=images]", [str(path)])
    page.dblclick("#order-form button[type=submit]")
    page.wait_for_function("() => !document.querySelector('#order-form button').disabled")
    after_double = alice_order_ids(server, deployment)
    new = [order for order in after_double if order not in before]
    assert len(new) == 2  # the double submit made one; the dblclick after it a second one
    listed = page.eval_on_selector_all(
        "#orders [data-order]", "items => items.map(i => +i.dataset.order)"
    )
    assert listed[:2] == sorted(new, reverse=True)  # "Your orders" shows them, newest first

    # 2. The order is created but the answer is lost; the customer presses the button again.
    lost: list[int] = []

    def lose_first_answer(route) -> None:
        if lost:
            route.continue_()
            return
        answer = route.fetch()
        lost.append(answer.status)
        route.abort("connectionreset")

    page.route("**/api/core/orders/", lose_first_answer)
    page.fill("textarea[name=note]", "retry me")
    page.set_input_files("input[name=images]", [str(path)])
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-error:not([hidden])", timeout=30_000)
    assert lost == [201]  # the server did create it
    page.click("#order-form button[type=submit]")  # same submission: same key, same uploads
    page.wait_for_function(
        "() => document.querySelector('#order-status').textContent.includes('placed')"
    )
    final = alice_order_ids(server, deployment)
    retried = [order for order in final if order not in after_double]
    assert len(retried) == 1, final
    assert page.text_content("#order-status") == f"Order #{retried[0]} placed."
    listed = page.eval_on_selector_all(
        "#orders [data-order]", "items => items.map(i => +i.dataset.order)"
    )
    assert listed.count(retried[0]) == 1 and listed[0] == retried[0]


#: Keeps each file the page hands to XMLHttpRequest (a PUT's body, a form's file fields):
#: Chromium shows Playwright no body of a request holding a file read from disk.
RECORD_SENT_FILES = """
window.sentFiles = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  const parts = body instanceof FormData ? [...body.values()] : [body];
  window.sentFiles.push(...parts.filter((part) => part instanceof Blob));
  return send.call(this, body);
};
"""
TAKE_SENT_FILES = """async () => {
  const files = window.sentFiles.splice(0);
  const read = (file) => new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(",")[1]);
    reader.readAsDataURL(file);
  });
  return Promise.all(files.map(read));
}"""


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "api"])
def test_large_photos_are_downscaled_before_sending(direct, deployment, page, tmp_path, figures):
    """Light uploads: a 12 MP phone photo goes as a 2048 px JPEG, upright; a small image
    goes unchanged. Straight to the bucket with S3, through the API on local disk."""
    if direct:
        server = page_server(deployment)
    else:
        server = deployment.server(**PAGE_ENV, USE_S3="False", DEBUG="True")
        server.start(collectstatic=True)
    product = f"Photo print {'direct' if direct else 'api'}"
    add_product(server, deployment, product, "9.00")
    page.add_init_script(RECORD_SENT_FILES)
    sign_in(page, server, "alice")
    photo = phone_photo()  # 4000x3000, EXIF orientation 6: a portrait photo
    small = image_bytes("JPEG", size=(300, 200), color="green")
    grants: list[dict] = []

    def granted(request) -> None:
        if request.url.endswith("/api/media/uploads/"):
            grants.append(json.loads(request.post_data_buffer))

    page.on("request", granted)

    def order(name: str, data: bytes) -> tuple[bytes, tuple[int, int]]:
        """Order with one JPEG: the bytes sent, and the stored image's size."""
        grants.clear()
        path = tmp_path / name
        path.write_bytes(data)
        before = page.text_content("#order-status")
        page.select_option("select[name=product]", label=f"{product} (9.00 USD)")
        page.set_input_files("input[name=images]", [str(path)])
        page.click("#order-form button[type=submit]")
        page.wait_for_function(
            """before => {
                const status = document.querySelector('#order-status').textContent;
                return status.includes('placed') && status !== before;
            }""",
            arg=before,
            timeout=60_000,
        )
        assert page.is_hidden("#order-error"), page.text_content("#order-error")
        assert page.text_content("#progress-text") == "100%"
        image = "#order-result img.order-image"
        page.wait_for_function(f"() => document.querySelector('{image}').complete")
        sent = [base64.b64decode(data) for data in page.evaluate(TAKE_SENT_FILES)]
        assert len(sent) == 1 and sent[0].startswith(b"\xff\xd8\xff"), sent  # one JPEG
        assert page.get_attribute(image, "alt") == name  # under the name the customer gave
        if direct:  # the grant declares what is sent
            declared = {"content_type": "image/jpeg", "size": len(sent[0]), "filename": name}
            assert grants == [{"purpose": "order", **declared}]
        size = page.eval_on_selector(image, "i => [i.naturalWidth, i.naturalHeight]")
        return sent[0], tuple(size)

    sent, stored = order("photo.jpg", photo)
    ratio = len(sent) / len(photo)
    assert ratio <= 0.25, (len(sent), len(photo))
    assert stored == (1536, 2048)  # upright: orientation 6 turns 4000x3000 to portrait
    mode = "direct upload" if direct else "through the API"
    figures(f"12 MP photo, {len(photo) / 1e6:.1f} MB, {mode}: {ratio:.0%} of it sent")

    sent, stored = order("small.jpg", small)
    assert sent == small  # already fits: the very same bytes
    assert stored == (300, 200)


def test_odd_images_and_long_names_keep_the_phone_page_in_its_box(deployment, browser):
    """A 100x4000 photo, a 4000x8 strip and a 200-character name, on a 390 px phone:
    every catalog image fills the same 4:3 box, an order's tall photo keeps a visible
    thumbnail, and nothing makes the page scroll sideways."""
    server = page_server(deployment)
    made = {}
    for name, size in (("Tall", (100, 4000)), ("Strip", (4000, 8)), ("W" * 200, (400, 300))):
        photo = image_bytes("JPEG", size=size)
        made[name] = add_product(
            server, deployment, name, "5.00", files=[("image", "x.jpg", photo, "image/jpeg")]
        )
    ordered = request(
        "POST",
        server.url("/api/core/orders/"),
        token=deployment.tokens["alice"],
        fields={"lines": json.dumps([{"product": made["Tall"]["id"], "quantity": 1}])},
        files=[("images", "tall.jpg", image_bytes("JPEG", size=(100, 4000)), "image/jpeg")],
    )
    assert ordered.status == 201, ordered.body
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True
    )
    page = context.new_page()
    try:
        sign_in(page, server, "alice")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        size = "els => els.map(e => e.getBoundingClientRect()).map(r => [r.width, r.height])"
        boxes = page.eval_on_selector_all(".product img", size)
        assert len(boxes) >= 3 and all(w > 100 and abs(h - w * 3 / 4) < 1 for w, h in boxes), boxes
        order = ordered.json()["id"]
        [thumb] = page.eval_on_selector_all(f'.order[data-order="{order}"] .thumbs img', size)
        assert thumb[0] >= 48 and thumb[1] == 120, thumb
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
