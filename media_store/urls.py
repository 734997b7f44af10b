from django.urls import path

from . import views

app_name = "media_store"

urlpatterns = [
    path("private/<str:token>", views.private_file, name="private-file"),
]
