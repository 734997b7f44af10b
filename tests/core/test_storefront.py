import pytest

from tests.support.images import upload

pytestmark = pytest.mark.django_db


def test_storefront_lists_products_for_anyone(client, staff, product):
    page = client.get("/")
    assert page.status_code == 200
    assert b"Mug" in page.content and b"Sign in</a> to place an order" in page.content
    assert b"order-form" not in page.content


def test_signed_in_customers_get_the_order_form_and_their_orders(client, user, product):
    from core.services import LineRequest, order_create

    order_create(user=user, lines=[LineRequest(product, 1)], images=[upload()])
    client.force_login(user)
    page = client.get("/")
    assert b'id="order-form"' in page.content and b"storefront.js" in page.content
    assert b"/media-private/private/" in page.content  # the order image, signed


def test_login_page(client, user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_openapi_schema_and_docs_page(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/core/products/", "/api/core/orders/", "/api/media/uploads/"):
        assert path in text
    docs = client.get("/api/docs/")
    assert docs.status_code == 200


def test_api_docs_load_pinned_assets_from_our_own_static_files(client):
    from django.contrib.staticfiles import finders

    page = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in page and "@latest" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_order_cards_show_lines_total_note_status_and_currency(client, user, product, settings):
    from core.services import LineRequest, order_create

    settings.SHOP_CURRENCY = "EUR"
    order_create(user=user, lines=[LineRequest(product, 2)], note="Gift wrap", images=[upload()])
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "2 \u00d7 Mug at 9.50 EUR" in page and "Total: 19.00 EUR" in page
    assert "Gift wrap" in page and "Received" in page and "9.50 EUR" in page
    assert 'data-direct-uploads="false"' in page  # local disk: the page posts to the API


def test_an_empty_shop_tells_staff_where_to_add_products(client, staff, user):
    client.force_login(staff)
    assert b"/admin/core/product/add/" in client.get("/").content
    client.force_login(user)
    page = client.get("/").content
    assert b"No products yet." in page and b"/admin/" not in page


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_the_catalog_pages_through_every_product(client, user):
    from core import pages
    from core.models import Product

    Product.objects.bulk_create(
        Product(name=f"Item {n:03d}", slug=f"item-{n}", price="1.00")
        for n in range(pages.CATALOG_PAGE_SIZE + 5)
    )
    client.force_login(user)
    first = client.get("/").content.decode()
    assert "Item 000" in first and "Item 064" not in first and "Page 1 of 2" in first
    second = client.get("/?page=2").content.decode()
    assert "Item 064" in second and "Item 000" not in second and 'rel="prev"' in second
    assert "Item 064 (1.00 USD)</option>" in second  # and can be ordered from there
    for odd, shown in (
        ("abc", 1),
        ("0", 1),
        ("-1", 1),
        ("999", 2),
        ("1" * 30, 2),
        ("-" + "9" * 30, 1),
        ("+-5", 1),
        ("\u00b2", 1),
        (" 0 ", 1),
    ):
        assert f"Page {shown} of 2" in client.get("/", {"page": odd}).content.decode(), odd
