"""Local private files (development mode): served only for a valid, unexpired signed link."""

from __future__ import annotations

import io

import pytest

from tests.media_store.testapp.services import PRIVATE_NOTE, attach
from tests.support import bombs

pytestmark = pytest.mark.django_db


@pytest.fixture
def note_url(user) -> str:
    [attachment] = attach(
        user=user, purpose=PRIVATE_NOTE, files=[io.BytesIO(bombs.flat("PNG", (40, 30)))]
    )
    return attachment.file.url()


def test_a_signed_link_serves_the_file_as_a_private_attachment(client, note_url):
    response = client.get(note_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_tampered_link_is_a_403_with_a_code(client, note_url):
    tampered = note_url[:-1] + ("A" if note_url[-1] != "A" else "B")  # signature changed
    response = client.get(tampered)
    assert response.status_code == 403
    assert response.json()["code"] == "link_invalid"


def test_an_expired_link_is_a_403_that_says_so(client, note_url, settings):
    settings.MEDIA_SIGNED_URL_EXPIRE = -1
    response = client.get(note_url)
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This link has expired; reload the page for a fresh one.",
        "code": "link_expired",
    }
