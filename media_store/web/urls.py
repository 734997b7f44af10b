"""Mount with ``path("", include("media_store.web.urls"))``."""

from django.urls import path

from . import views

app_name = "media_store"

urlpatterns = [
    path("api/media/uploads/", views.DirectUploadView.as_view(), name="direct-upload"),
    path("media-private/private/<str:token>", views.private_file, name="private-file"),
]
