"""Incidents and their messages in the staff back office; the operations page links here."""

from django.contrib import admin

from common.admin import ReadOnly
from ops.models import Delivery, Incident


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
