"""The screenshots in docs/screenshots/, taken by Chromium from a real run of the shop.

Gunicorn, the Ceph gateway and a background worker, as in the other browser tests:
products with renditions made by the worker, then the catalog and each state of the
order form. Every screenshot is taken after checking that what it should show is on
the page, and rewritten on each run.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageColor, ImageDraw

from media_store.storage.bucket import apply_cors
from tests.support.browser import PAGE_ENV, add_product, images_loaded, sign_in
from tests.support.multipart import request

pytestmark = pytest.mark.s3

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1000, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True}
#: Name, price, background and the colour of the thing on it.
PRODUCTS = (
    ("Terracotta mug", "14.00", "#f3e2d3", "#c0582f"),
    ("Sea-glass vase", "32.00", "#dfeef0", "#5a9ea6"),
    ("Olive planter", "21.50", "#e9ecdc", "#6d7a3a"),
    ("Indigo bowl", "18.00", "#e2e4f1", "#37407d"),
)


def product_photo(background: str, accent: str, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A plain product shot: the object on a soft gradient, with its shadow."""
    width, height = size
    fade = Image.linear_gradient("L").resize(size)
    photo = Image.composite(
        Image.new("RGB", size, "white"), Image.new("RGB", size, background), fade
    )
    draw = ImageDraw.Draw(photo)
    shadow = tuple(channel * 3 // 4 for channel in ImageColor.getrgb(background))
    draw.ellipse((width * 0.28, height * 0.78, width * 0.72, height * 0.88), fill=shadow)
    draw.rounded_rectangle(
        (width * 0.32, height * 0.22, width * 0.68, height * 0.83), radius=width // 20, fill=accent
    )
    draw.ellipse((width * 0.32, height * 0.17, width * 0.68, height * 0.27), fill=accent)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def wait_for_renditions(server, count: int, worker, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        products = request("GET", server.url("/api/core/products/?page_size=100")).json()
        states = [r["state"] for p in products["results"] for r in p["image"]["renditions"]]
        if products["count"] == count and states and all(s == "ready" for s in states):
            return
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.2)


def phone_catalog(browser, server) -> None:
    """On a 3x phone two products share a row, so each takes the 640 px rendition."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(server.url("/"))
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        cards = page.eval_on_selector_all(
            ".product img", "els => els.map(e => [e.getBoundingClientRect().top, e.currentSrc])"
        )
        assert cards[0][0] == cards[1][0] != cards[2][0]  # two per row
        assert all(source.endswith("_w640.webp") for _, source in cards), cards
        page.screenshot(path=SCREENSHOTS / "catalog-phone.png")
    finally:
        context.close()


def test_screenshots_of_the_storefront(deployment, browser, tmp_path):
    server = deployment.server(**PAGE_ENV)
    apply_cors(deployment.s3.client(), deployment.bucket, [server.base_url])
    server.start(collectstatic=True)
    for name, price, background, accent in PRODUCTS:
        photo = product_photo(background, accent)
        slug = name.lower().replace(" ", "-")
        add_product(
            server, deployment, name, price, files=[("image", f"{slug}.jpg", photo, "image/jpeg")]
        )
    worker = deployment.worker().start()
    wait_for_renditions(server, len(PRODUCTS), worker)
    worker.stop()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        # The catalog: every product shows a rendition, not its original.
        sign_in(page, server, "alice")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        sources = page.eval_on_selector_all(".product img", "els => els.map(e => e.currentSrc)")
        assert len(sources) == len(PRODUCTS) and all("_w" in s for s in sources)
        assert all(width > 0 for width in images_loaded(page, ".product img"))
        page.screenshot(path=SCREENSHOTS / "catalog.png")
        phone_catalog(browser, server)

        order_section = page.locator("section.card", has=page.locator("#order-form"))
        files = []
        for name, background, accent in (
            ("mug-at-home.png", "#f3e2d3", "#c0582f"),
            ("mug-chipped.png", "#f0e6dc", "#a84b28"),
        ):
            path = tmp_path / name
            data = product_photo(background, accent, size=(480, 360))
            Image.open(io.BytesIO(data)).save(path, format="PNG")  # sent as it is
            files.append(str(path))

        # During the upload: the first file is in the bucket, the second one is held.
        bucket_posts = []

        def hold_second_upload(route) -> None:
            if route.request.method == "POST":
                bucket_posts.append(route)
                if len(bucket_posts) == 2:
                    return  # answered below, after the screenshot
            route.continue_()

        page.route(f"{deployment.s3.endpoint_url}/**", hold_second_upload)
        page.select_option("select[name=product]", label="Terracotta mug (14.00 USD)")
        page.fill("textarea[name=note]", "Two mugs for the office, please.")
        page.set_input_files("input[name=images]", files)
        page.click("#order-form button[type=submit]")
        deadline = time.monotonic() + 30
        while len(bucket_posts) < 2:
            assert time.monotonic() < deadline, "the second upload never started"
            page.wait_for_timeout(50)
        value = page.eval_on_selector("#progress", "p => p.value")
        assert 0 < value < 100, value
        assert page.text_content("#progress-text") == f"{value}%"
        assert page.is_disabled("#order-form button[type=submit]")
        order_section.screenshot(path=SCREENSHOTS / "order-progress.png")

        # Placed: the second upload goes on, the order shows its images.
        bucket_posts[1].continue_()
        page.wait_for_function(
            "() => document.querySelector('#order-status').textContent.includes('placed')",
            timeout=30_000,
        )
        page.unroute(f"{deployment.s3.endpoint_url}/**")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#order-result img')].every(i => i.complete)"
        )
        assert page.is_hidden("#order-error")
        assert page.text_content("#progress-text") == "100%"
        assert [w > 0 for w in images_loaded(page, "#order-result img")] == [True, True]
        order_section.screenshot(path=SCREENSHOTS / "order-success.png")

        # Refused: a web page saved as .jpg (on a fresh page, without the order above).
        page.reload()
        page.wait_for_selector("select[name=product] option", state="attached")
        fake = tmp_path / "receipt.jpg"
        fake.write_bytes(b"<html><body>Not an image</body></html>")
        page.set_input_files("input[name=images]", [str(fake)])
        page.click("#order-form button[type=submit]")
        page.wait_for_selector("#order-error:not([hidden])")
        page.wait_for_function(
            "() => document.querySelector('#order-error').textContent.includes('HTML')"
        )
        assert page.is_visible("#order-error")
        assert page.text_content("#progress-text") == "failed"
        order_section.screenshot(path=SCREENSHOTS / "order-error.png")

        # The orders list, as the server draws it on the next visit.
        page.reload()
        page.wait_for_function(
            "() => [...document.querySelectorAll('#orders img')].every(i => i.complete)"
        )
        orders = page.locator("#orders [data-order]")
        assert orders.count() == 1
        assert "Terracotta mug" in orders.first.text_content()
        assert [w > 0 for w in images_loaded(page, "#orders img")] == [True, True]
        page.locator("section", has=page.locator("#orders")).screenshot(
            path=SCREENSHOTS / "orders.png"
        )
    finally:
        context.close()
    for name in ("catalog", "order-progress", "order-success", "order-error", "orders"):
        with Image.open(SCREENSHOTS / f"{name}.png") as shot:
            assert shot.format == "PNG" and shot.width <= VIEWPORT["width"]
