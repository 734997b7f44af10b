from django.urls import path

from .api import DirectUploadView

urlpatterns = [
    path("uploads/", DirectUploadView.as_view(), name="direct-upload"),
]
