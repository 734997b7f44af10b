from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.accounts import TokenLoginView, TokenLogoutAllView, TokenLogoutView
from core.pages import favicon, storefront

urlpatterns = [
    path("", storefront, name="storefront"),
    path("favicon.ico", favicon),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/core/", include("core.urls")),
    path("api/auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("api/auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("api/auth/logout-all/", TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("media_store.web.urls")),
]

# JSON for errors on /api/ paths, Django's pages elsewhere.
handler400 = "config.error_views.bad_request"
handler403 = "config.error_views.permission_denied"
handler404 = "config.error_views.page_not_found"
handler500 = "config.error_views.server_error"

if not settings.USE_S3:
    # Development only: Django serves public media from local disk (no-op unless DEBUG).
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
