"""URLs of a tenant host (e.g. demo.localhost:8000): the portal and the tenant's admin."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from ingest import views as ingest_views
from kpis import views as kpi_views
from kpis.knowledge import views as kb_views
from ops import views as ops_views
from playbooks import views as playbook_views
from tenants import views as tenant_views
from users import views as user_views
from users.admin_sites import tenant_admin_site

urlpatterns = [
    path("", include("config.api_router")),
    path("", kpi_views.home, name="home"),
    path("health/", ops_views.health, name="health"),
    path("login/", user_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", user_views.password_change, name="password_change"),
    path("welcome/<str:token>/", user_views.welcome, name="welcome"),
    path("password/set/<uidb64>/<token>/", user_views.PasswordSetView.as_view(), name="password_set"),
    path("accounts/", kpi_views.accounts, name="accounts"),
    path("accounts/<int:pk>/", kpi_views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/notes/", kpi_views.account_note_view, name="account_note"),
    path("insights/", kpi_views.insights, name="insights"),
    path("insights/<int:pk>/triage/", kpi_views.insight_triage, name="insight_triage"),
    path("knowledge/", kb_views.knowledge, name="knowledge"),
    path("knowledge/add/", kb_views.kb_document_add, name="kb_document_add"),
    path("knowledge/documents/<slug:doc_id>/", kb_views.kb_document, name="kb_document"),
    path("knowledge/documents/<slug:doc_id>/delete/", kb_views.kb_document_delete, name="kb_document_delete"),
    path("knowledge/questions/", kb_views.kb_queries, name="kb_queries"),
    path("data/", ingest_views.data_integration, name="data_integration"),
    path("data/uploads/<uuid:public_id>/", ingest_views.upload_detail, name="upload_detail"),
    path(
        "data/uploads/<uuid:public_id>/progress/",
        ingest_views.upload_progress_partial,
        name="upload_progress",
    ),
    path("data/uploads/<uuid:public_id>/confirm/", ingest_views.upload_confirm_view, name="upload_confirm"),
    path("data/uploads/<uuid:public_id>/errors.csv", ingest_views.upload_errors, name="upload_errors"),
    path("data/templates/<slug:kind>.csv", ingest_views.template_csv, name="upload_template"),
    path("playbooks/", playbook_views.catalog, name="playbooks"),
    path("playbooks/<slug:key>/", playbook_views.playbook_detail, name="playbook_detail"),
    path("playbooks/<slug:key>/start/", playbook_views.execution_start_view, name="execution_start"),
    path("playbooks/<slug:key>/triggers/new/", playbook_views.trigger_new, name="trigger_new"),
    path("playbooks/<slug:key>/triggers/<int:pk>/", playbook_views.trigger_edit, name="trigger_edit"),
    path("executions/", playbook_views.executions, name="executions"),
    path("executions/<uuid:pk>/", playbook_views.execution_detail, name="execution_detail"),
    path("executions/<uuid:pk>/steps/<int:index>/", playbook_views.step_view, name="execution_step"),
    path(
        "executions/<uuid:pk>/criteria/<slug:key>/", playbook_views.criterion_view, name="execution_criterion"
    ),
    path("executions/<uuid:pk>/cancel/", playbook_views.execution_cancel_view, name="execution_cancel"),
    path("executions/<uuid:pk>/report/", playbook_views.execution_report_view, name="execution_report"),
    path("settings/health/", kpi_views.health_settings, name="health_settings"),
    path("settings/health/kpis/<slug:key>/", kpi_views.kpi_settings, name="kpi_settings"),
    path("settings/health/report-card/", kpi_views.report_card_refresh_view, name="report_card_refresh"),
    path(
        "settings/health/learned-model/train/", kpi_views.learned_model_train_view, name="learned_model_train"
    ),
    path(
        "settings/health/learned-model/activate/",
        kpi_views.learned_model_activate_view,
        name="learned_model_activate",
    ),
    path("settings/health/rules/", kpi_views.health_rules_restore_view, name="health_rules_restore"),
    path("settings/api-keys/", tenant_views.api_keys, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", tenant_views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/usage/", tenant_views.usage, name="usage"),
    path("settings/slack/", tenant_views.slack_settings, name="slack_settings"),
    path("settings/workspace/", tenant_views.workspace_settings, name="workspace_settings"),
    path("settings/peer-benchmarks/", tenant_views.peer_benchmarks_settings, name="peer_benchmarks_settings"),
    path("settings/notifications/", user_views.notifications, name="notifications"),
    path("settings/team/", user_views.team, name="team"),
    path("settings/team/<int:pk>/", user_views.team_member, name="team_member"),
    path("settings/audit/", ops_views.audit_log, name="audit_log"),
    path("invite/<str:token>/", user_views.invite_accept, name="invite_accept"),
    path("admin/", tenant_admin_site.urls),
]
