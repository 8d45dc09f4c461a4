"""`/api/` on every host: the v1 endpoints, the OpenAPI schema and its interactive docs.

The one place every app's API is routed (urls_public.py and urls_tenants.py include it): a new
endpoint lives in its app's api.py, inherits api.base, and is registered here."""

from csp.constants import SELF
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import views
from ingest import api as ingest_api
from kpis import api as kpi_api
from kpis.knowledge import api as kb_api
from playbooks import api as playbook_api

router = SimpleRouter(trailing_slash=True)
router.register("keys", views.ApiKeyViewSet, basename="api-keys")
router.register("accounts", kpi_api.AccountViewSet, basename="api-accounts")
router.register("insights", kpi_api.InsightViewSet, basename="api-insights")
router.register("uploads", ingest_api.UploadViewSet, basename="api-uploads")
router.register("playbooks", playbook_api.PlaybookViewSet, basename="api-playbooks")
router.register("executions", playbook_api.ExecutionViewSet, basename="api-executions")
router.register("triggers", playbook_api.TriggerViewSet, basename="api-triggers")
router.register("kb/documents", kb_api.KbDocumentViewSet, basename="api-kb-documents")
router.register("kb/queries", kb_api.KbQueryViewSet, basename="api-kb-queries")

v1 = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("usage/", views.UsageApi.as_view(), name="api-usage"),
    path("portfolio/", kpi_api.PortfolioApi.as_view(), name="api-portfolio"),
    path("benchmarks/", kpi_api.PeerBenchmarksApi.as_view(), name="api-benchmarks"),
    path("kpis/catalog/", kpi_api.KpiCatalogApi.as_view(), name="api-kpi-catalog"),
    path("health/report-card/", kpi_api.ReportCardApi.as_view(), name="api-report-card"),
    path(
        "health/learned-model/train/", kpi_api.LearnedModelTrainApi.as_view(), name="api-learned-model-train"
    ),
    path(
        "health/learned-model/activate/",
        kpi_api.LearnedModelActivateApi.as_view(),
        name="api-learned-model-activate",
    ),
    path("health/learned-model/<str:pk>/", kpi_api.LearnedModelApi.as_view(), name="api-learned-model"),
    path("kb/ask/", kb_api.KbAskApi.as_view(), name="api-kb-ask"),
    path(
        "uploads/<str:pk>/errors.csv",
        ingest_api.UploadViewSet.as_view({"get": "errors_csv"}),
        name="api-uploads-errors",
    ),
    path(
        "executions/<str:pk>/steps/<int:number>/complete",
        playbook_api.ExecutionViewSet.as_view({"post": "complete_step"}),
        name="api-executions-step-complete",
    ),
    *router.urls,
]

# Swagger UI within the Content-Security-Policy: the split view serves its start-up script as a
# file (/api/docs/?script) where the plain view inlines it, and Swagger UI draws its icons as
# data: images, which only this page allows.
api_docs = csp_update({"img-src": [SELF, "data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html")
)

urlpatterns = [
    path("api/v1/", include(v1)),
    path("api/ping/", views.ping, name="api-ping"),
    # The predecessor's GET /api/accounts, kept for its clients.
    path("api/accounts", kpi_api.AccountViewSet.as_view({"get": "list"}), name="api-accounts-legacy"),
    path("api/upload", ingest_api.UploadViewSet.as_view({"post": "create"}), name="api-upload-legacy"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]
