"""What every destructive management command asks before it runs outside development."""

from django.conf import settings
from django.core.management.base import CommandError


def destructive_confirmed(*, name: str, confirm: str | None) -> None:
    """Raise CommandError unless this is development (DEBUG) or `--confirm` repeats `name`, the
    thing about to be overwritten or deleted: a typed name, not a reflex `--yes`."""
    if settings.DEBUG or confirm == name:
        return
    if confirm:
        raise CommandError(
            f"--confirm {confirm} does not match; this command changes “{name}”: pass --confirm {name}."
        )
    raise CommandError(f"This command changes “{name}” and DEBUG is off: run it again with --confirm {name}.")
