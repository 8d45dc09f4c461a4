"""Operations in the staff back office: incidents and their messages (the operations page links
here), backups and restore drills (written only by ops.backups and ops.restore, so read-only)."""

from django.contrib import admin

from common.admin import ReadOnly
from ops.models import Backup, Delivery, Incident, RestoreDrill


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = ["event", "channel", "status", "attempts", "error", "created_at", "sent_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["title", "kind", "opened_at", "notified_at", "reminders", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["key", "title"]
    inlines = [DeliveryInline]


@admin.register(Backup)
class BackupAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "file_name",
        "tenant_slug",
        "status",
        "started_at",
        "size_bytes",
        "duration_seconds",
        "offsite",
    )
    list_filter = ("status", "offsite")
    search_fields = ("file_name", "tenant_slug")


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("started_at", "backup_file_name", "identical", "tables", "rows", "duration_seconds")
    list_filter = ("identical",)
