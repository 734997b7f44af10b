"""Helpers for the storefront in Chromium: sign in, add a product, see which images loaded."""

from __future__ import annotations

from tests.support.multipart import request

#: Gunicorn instances serving pages to the browser over plain HTTP.
PAGE_ENV = {"SESSION_COOKIE_SECURE": "False", "CSRF_COOKIE_SECURE": "False"}


def sign_in(page, server, username: str) -> None:
    page.goto(server.url("/accounts/login/"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"e2e-pw-{username}")
    page.click("main form button[type=submit]")  # not the header's "Sign out"
    page.wait_for_url(server.url("/"))


def add_product(server, deployment, name: str, price: str, files=None) -> dict:
    """A product created by staff through the API (multipart when it has an image)."""
    fields = {"name": name, "price": price}
    body = {"fields": fields, "files": files} if files else {"json_body": fields}
    created = request(
        "POST", server.url("/api/core/products/"), token=deployment.tokens["staff"], **body
    )
    assert created.status == 201, created.body
    return created.json()


def images_loaded(page, selector: str) -> list[int]:
    return page.eval_on_selector_all(
        selector, "els => els.map(e => e.complete ? e.naturalWidth : 0)"
    )
