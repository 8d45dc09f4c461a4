"""Admin bases the apps share."""


class ReadOnly:
    """Rows that uploads, syncs or health runs write: shown here, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
