"""The storefront's direct upload, in Chromium, on every store we name (each behind its emulator).

A gunicorn instance configured as our docs configure it for the store, a bucket set up
with ``manage.py configure_bucket`` plus the console steps it prints, and a customer
who attaches two photos and orders: the bytes go to the bucket by the store's method
(a POST form or a PUT) with a progress bar, and the order shows its images.
"""

from __future__ import annotations

import pytest

from media_store.storage.providers import PROVIDERS
from tests.support.app_server import manage
from tests.support.browser import PAGE_ENV, add_product, images_loaded, sign_in
from tests.support.images import image_bytes
from tests.support.providers import EMULATED, emulated_store

pytestmark = pytest.mark.s3


@pytest.mark.parametrize("profile", EMULATED)
def test_direct_upload_from_the_page(profile, deployment, s3_server, browser, page, tmp_path):
    with emulated_store(s3_server, profile) as store:
        server = deployment.server(**PAGE_ENV, **store.env())
        origin = server.base_url
        configured = manage({**server.env, "CORS_ALLOWED_ORIGINS": origin}, "configure_bucket")
        assert configured.returncode == 0, configured.stdout + configured.stderr
        store.do_console_steps([origin])
        server.env["CORS_ALLOWED_ORIGINS"] = origin
        server.start(collectstatic=True)
        name = f"Poster {profile}"
        add_product(server, deployment, name, "7.00")

        sign_in(page, server, "alice")
        files = []
        for file_name, fmt, color in (("a.jpg", "JPEG", "red"), ("b.png", "PNG", "blue")):
            path = tmp_path / file_name
            path.write_bytes(image_bytes(fmt, size=(300, 200), color=color))
            files.append(str(path))
        page.select_option("select[name=product]", label=f"{name} (7.00 USD)")
        page.set_input_files("input[name=images]", files)
        sent: list[str] = []
        page.on(
            "requestfinished",
            lambda r: sent.append(r.method) if r.url.startswith(store.emulator.url) else None,
        )
        page.click("#order-form button[type=submit]")
        page.wait_for_selector("#order-result img.order-image >> nth=1", timeout=30_000)
        assert page.is_hidden("#order-error"), page.text_content("#order-error")
        assert page.text_content("#progress-text") == "100%"
        method = PROVIDERS[profile].direct_upload.upper()
        assert sent.count(method) == 2, sent  # straight to the bucket, by the store's method
        page.wait_for_function(
            "() => [...document.querySelectorAll('#order-result img')].every(i => i.complete)"
        )
        assert all(width > 0 for width in images_loaded(page, "#order-result img"))
        assert len(store.keys(store.private, "private/orders/")) == 2
        server.kill()
