"""Downloads the Data tab and the API share."""

import csv

from django.http import HttpResponse

from common.exports import csv_safe
from ingest.models import Upload


def errors_csv_response(upload: Upload) -> HttpResponse:
    """The error report, cells escaped so a spreadsheet never runs them as formulas."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="upload-{upload.public_id}-errors.csv"'
    writer = csv.writer(response)
    writer.writerow(["line", "field", "value", "reason"])
    for line, field, value, reason in upload.errors.values_list(
        "line", "field", "value", "reason"
    ).iterator():
        writer.writerow([line, csv_safe(field), csv_safe(value), csv_safe(reason)])
    return response
