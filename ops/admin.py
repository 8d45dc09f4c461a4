"""Backups and restore drills in the staff back office: what ran, how big, how good. Written only
by ops.backups and ops.restore, so read-only here."""

from django.contrib import admin

from common.admin import ReadOnly
from ops.models import Backup, RestoreDrill


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
