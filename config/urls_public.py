"""URLs of the public host (e.g. localhost:8000): site, registration, staff back office."""

from django.contrib import admin
from django.urls import include, path

from ops import views as ops_views
from tenants import views

urlpatterns = [
    path("", include("config.api_router")),
    path("", views.landing, name="landing"),
    path("register", views.register, name="register"),
    path("register/", views.register),
    path("health/", ops_views.health, name="health"),
    path("admin/operations/", admin.site.admin_view(ops_views.operations), name="operations"),
    path("admin/", admin.site.urls),
]
