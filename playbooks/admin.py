"""The tenant admin for playbooks and their triggers. Saves go through playbooks.services and
the forms call the same validation, so the admin shows the API's and the portal's messages."""

from django.contrib import admin

from playbooks.forms import PlaybookAdminForm, TriggerAdminForm
from playbooks.models import Playbook, Trigger
from playbooks.services import (
    PLAYBOOK_EDITABLE,
    TRIGGER_EDITABLE,
    playbook_update,
    trigger_create,
    trigger_holdout_stop,
    trigger_update,
)
from users.admin_sites import tenant_admin_site
from users.audit import user_actor


@admin.register(Playbook, site=tenant_admin_site)
class PlaybookAdmin(admin.ModelAdmin):
    """Texts, outcomes, exit criteria and the active flag. Playbooks and their steps come from
    the catalog; one that has run is kept for its executions' history (untick active)."""

    form = PlaybookAdminForm
    fields = ("key", *PLAYBOOK_EDITABLE)
    readonly_fields = ("key",)
    list_display = ("name", "key", "active", "expected_duration_days", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "key")

    def save_model(self, request, obj, form, change):
        playbook_update(playbook=obj, **{name: form.cleaned_data[name] for name in form.changed_data})

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Trigger, site=tenant_admin_site)
class TriggerAdmin(admin.ModelAdmin):
    """What evaluation recorded (last run, last error, firings) is shown, never edited."""

    form = TriggerAdminForm
    fields = (*TRIGGER_EDITABLE, "last_error", "last_evaluated_at", "last_triggered_at", "times_triggered")
    readonly_fields = ("last_error", "last_evaluated_at", "last_triggered_at", "times_triggered")
    list_display = (
        "__str__",
        "action",
        "cooldown_days",
        "enabled",
        "holdout_share",
        "last_evaluated_at",
        "last_error",
    )
    list_filter = ("enabled", "action", "playbook")
    list_select_related = ("playbook",)
    actions = ["stop_holding_out"]

    @admin.action(description="Stop holding out accounts (every account it fires for runs)")
    def stop_holding_out(self, request, queryset):
        for trigger in queryset.exclude(holdout_share=0):
            trigger_holdout_stop(trigger=trigger, actor=user_actor(request.user))
        self.message_user(request, "Holding out stopped; the accounts drawn so far stay as recorded.")

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in TRIGGER_EDITABLE}
        if change:
            trigger_update(trigger=Trigger.objects.get(pk=obj.pk), actor=user_actor(request.user), **values)
        else:
            obj.pk = trigger_create(actor=user_actor(request.user), **values).pk

    def has_delete_permission(self, request, obj=None):
        return False  # switch a trigger off instead: its firings hold the cooldowns
