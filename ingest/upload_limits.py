"""Uploads over INGEST_MAX_UPLOAD_BYTES are refused while they stream in, not once they are stored.

Django's upload handlers write a request's files to temporary storage as they arrive, and the
pipeline's size check (ingest.services) runs only once a file is whole: a 1 GB body used to be
written to /tmp entirely before "the file is 1 GB" came back. UploadLimitHandler, first in
FILE_UPLOAD_HANDLERS, counts the file bytes of a request as they arrive and stops reading it at
the limit — before the first file byte when Content-Length already shows the file cannot fit.
Django then deletes what the next handler had written, and the request goes on without the file.
Each way in says why with upload_refusal(): the API answers 413 (MultiPartParser below), the
portal and the admin show it as the file field's error (ingest.forms.RefusedUploadMixin).
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from rest_framework import parsers

from api.parsers import PayloadTooLarge
from ingest.parsers import FileRefused, Limits, too_large

# Besides its files, a multipart body holds form fields (at most DATA_UPLOAD_MAX_MEMORY_SIZE,
# Django's own limit), boundaries and part headers: a body longer than all that plus the file
# limit cannot carry an acceptable file.
PART_HEADERS_ALLOWANCE = 64 * 1024
_REFUSAL = "pulse_upload_refusal"


class UploadLimitHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length, self.received = content_length, 0  # and None: Django parses as usual

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        form_overhead = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + PART_HEADERS_ALLOWANCE
        if self.body_length > settings.INGEST_MAX_UPLOAD_BYTES + form_overhead:
            self._refuse()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)  # every file of the request: one upload is one file
        if self.received > settings.INGEST_MAX_UPLOAD_BYTES:
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (in memory or a temporary file) makes the file

    def _refuse(self):
        setattr(self.request, _REFUSAL, too_large(Limits(max_bytes=settings.INGEST_MAX_UPLOAD_BYTES)))
        # Read no further (the rest is never received); Django closes, so deletes, the partial file.
        raise StopUpload(connection_reset=True)


def upload_refusal(request) -> FileRefused | None:
    """Why the request's file was not received, if it was refused on the way in."""
    return getattr(request, _REFUSAL, None)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser; a file refused on the way in is a 413 that says why."""

    def parse(self, stream, media_type=None, parser_context=None):
        data_and_files = super().parse(stream, media_type, parser_context)
        refused = upload_refusal(parser_context["request"])
        if refused:
            raise PayloadTooLarge(str(refused))
        return data_and_files
