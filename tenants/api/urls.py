"""`/api/` on every host: the v1 endpoints, the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from tenants.api import views

router = SimpleRouter(trailing_slash=True)
router.register("keys", views.ApiKeyViewSet, basename="api-keys")

v1 = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("usage/", views.UsageApi.as_view(), name="api-usage"),
    *router.urls,
]

urlpatterns = [
    path("api/v1/", include(v1)),
    path("api/ping/", views.ping, name="api-ping"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
