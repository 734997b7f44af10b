"""No input makes the API answer 500: every endpoint's JSON and form fields, fuzzed.

Each field of each endpoint gets values of every JSON type, with integers far beyond
64 bits, floats that are not numbers, long and odd strings, and nesting; path ids get
the same. Whatever comes in, the answer is a 2xx or a 4xx with a JSON body, never a
500 (a value out of the database's range is the client's to fix: 400).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clients import client_for

pytestmark = pytest.mark.django_db

HUGE = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 2**31, 2**53 + 1])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.sampled_from(["", "0", "-1", "1e309", "NaN", "9" * 40, "1.5", "\x00", "null", "[]"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
#: Order lines of the right shape with numbers of any size, besides any value at all.
LINES = st.lists(
    st.fixed_dictionaries(
        {"product": st.one_of(st.integers(), HUGE), "quantity": st.one_of(st.integers(), HUGE)}
    ),
    max_size=3,
)
FIELD_VALUES = {"lines": st.one_of(LINES, VALUES)}
#: Each endpoint and the fields it reads (what its serializers and services accept).
ENDPOINTS = [
    ("post", "/api/core/products/", ["name", "price", "description", "slug", "archived", "upload"]),
    ("patch", "/api/core/products/{product}/", ["name", "price", "archived", "remove_image"]),
    ("post", "/api/core/orders/", ["lines", "note", "uploads", "images"]),
    ("patch", "/api/core/orders/{order}/", ["status"]),
    ("post", "/api/media/uploads/", ["purpose", "content_type", "size", "filename"]),
    ("post", "/api/auth/token/", ["username", "password"]),
]
IDS = st.one_of(st.integers(), HUGE, st.text(min_size=1, max_size=30))
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _answer_is_not_a_crash(response) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code >= 400:
        json.loads(response.content)  # a JSON error a client can read


@pytest.fixture
def world(staff, product, user, local_media, settings):
    from core.models import Order

    settings.UPLOAD_THROTTLE_RATE = "100000/hour"
    order = Order.objects.create(owner=user)
    return {"staff": staff, "product": product.pk, "order": order.pk}


@pytest.mark.parametrize(("method", "path", "fields"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_json_bodies_never_crash_the_api(world, method, path, fields):
    client = client_for(world["staff"])
    url = path.format(**world)

    @FUZZ
    @given(
        st.fixed_dictionaries(
            {}, optional={name: FIELD_VALUES.get(name, VALUES) for name in fields}
        )
    )
    def run(body):
        raw = json.dumps(body, allow_nan=True)  # NaN and Infinity as a lax client writes them
        response = client.generic(method.upper(), url, raw, content_type="application/json")
        _answer_is_not_a_crash(response)

    run()


@pytest.mark.parametrize(("method", "path", "fields"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_form_fields_never_crash_the_api(world, method, path, fields):
    client = client_for(world["staff"])
    url = path.format(**world)
    text = st.one_of(SCALARS.map(lambda v: v if isinstance(v, str) else json.dumps(v)))

    @FUZZ
    @given(st.fixed_dictionaries({}, optional={name: text for name in fields}))
    def run(body):
        _answer_is_not_a_crash(getattr(client, method)(url, body, format="multipart"))

    run()


@pytest.mark.parametrize("path", ["/api/core/products/{}/", "/api/core/orders/{}/"])
def test_odd_ids_in_paths_never_crash_the_api(world, path):
    client = client_for(world["staff"])

    @FUZZ
    @given(IDS)
    def run(value):
        url = path.format(str(value).replace("/", "_").replace("?", "_").replace("#", "_") or "x")
        for method in ("get", "patch", "delete"):
            _answer_is_not_a_crash(getattr(client, method)(url, {}, format="json"))

    run()


def test_list_query_parameters_never_crash_the_api(world):
    client = client_for(world["staff"])

    @FUZZ
    @given(st.one_of(SCALARS, HUGE).map(str), st.one_of(SCALARS, HUGE).map(str))
    def run(page, page_size):
        for path in ("/api/core/products/", "/api/core/orders/"):
            response = client.get(path, {"page": page, "page_size": page_size})
            _answer_is_not_a_crash(response)

    run()
