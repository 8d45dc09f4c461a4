from django import forms

from ingest.models import Upload
from ingest.parsers import FileRefused


class RefusedUploadMixin:
    """A form whose file the server refused on the way in (ingest.upload_limits) shows why, in
    place of "This field is required" for it and for the fields that came after it."""

    upload_field = "file"

    def __init__(self, *args, refused: FileRefused | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = refused

    def clean(self):
        cleaned_data = super().clean()
        if self.refused:
            self.errors.clear()  # the file is what to fix; the fields after it were never read
            self.add_error(self.upload_field, str(self.refused))
        return cleaned_data


class UploadForm(RefusedUploadMixin, forms.Form):
    kind = forms.ChoiceField(choices=Upload.Kind.choices, label="What the file holds")
    file = forms.FileField(
        help_text="CSV (comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252) or XLSX. Knowledge-base documents: "
        ".txt, .md, .html, .pdf, .docx, a .zip of them, or a CSV of doc_id, title, content."
    )
    account = forms.CharField(
        required=False,
        max_length=200,
        help_text="Account roll-up mode only: the account this KPI file is for (external id or name).",
    )
    create_missing_accounts = forms.BooleanField(
        required=False,
        label="Create missing accounts",
        help_text="KPI values and renewals: create an account for a row naming one that does not exist. "
        "Left unticked, such a row is rejected with its line, so a typo never creates an account.",
    )
    preview = forms.BooleanField(
        required=False, initial=True, label="Preview first (write nothing until I confirm)"
    )
