"""Users. The table exists in every schema: tenant schemas hold that tenant's team, the
public schema holds Pulse staff for the back office."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django_tenants.utils import get_public_schema_name

from users import roles


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = roles.ADMIN, "Admin"
        MANAGER = roles.MANAGER, "Manager"
        VIEWER = roles.VIEWER, "Viewer"

    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    must_change_password = models.BooleanField(
        default=False, help_text="Sent to the password change page at next login."
    )
    # What this user hears about by e-mail (Settings → Notifications); their own choice.
    notify_on_assignment = models.BooleanField(
        default=True, help_text="E-mail when an insight or playbook step is assigned to them."
    )
    notify_when_due = models.BooleanField(default=True, help_text="E-mail when a step of theirs falls due.")
    notify_daily_digest = models.BooleanField(
        default=False, help_text="A morning e-mail of their open insights and steps due within a week."
    )

    def __str__(self) -> str:
        return self.full_name or self.username

    def save(self, *args, **kwargs):
        # The last line of defence for "no workspace user is a superuser": the user service never
        # sets the flag, and this stops the paths around it (an operator's createsuperuser run in
        # a tenant schema, a shell). Superusers are Pulse staff, in the public schema only.
        if self.is_superuser and connection.schema_name != get_public_schema_name():
            raise ValidationError(
                "Workspace users are never Django superusers: their role says what they may do. "
                "Give this user the admin role instead."
            )
        super().save(*args, **kwargs)

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def can_edit(self) -> bool:
        """Managers and admins change data; viewers only read."""
        return self.role in {self.Role.ADMIN, self.Role.MANAGER}


class AuditEvent(models.Model):
    """One change to a workspace's settings, team, keys, health model or triggers: who made it
    (`actor`: "user:ann", "api:pk_ab12", "trigger:4", "sync:3", "system") and when. Rows live in
    the tenant's schema, so one workspace's log never holds another's. Written by
    users.audit.audit_record from the services that make those changes; never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=30)
    target_type = models.CharField(max_length=40)
    target = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type} {self.target}"
