from django import forms

from ingest.models import Upload


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=Upload.Kind.choices, label="What the file holds")
    file = forms.FileField(help_text="CSV (comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252) or XLSX.")
    account = forms.CharField(
        required=False, max_length=200,
        help_text="Account roll-up mode only: the account this KPI file is for (external id or name).",
    )  # fmt: skip
    preview = forms.BooleanField(
        required=False, initial=True, label="Preview first (write nothing until I confirm)"
    )
