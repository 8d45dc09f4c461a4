"""Reading the predecessor's files and fields (no database)."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from ingest.legacy import (
    BadRecord,
    LegacyFilesRefused,
    Record,
    Run,
    _check_required,
    _count,
    _moment,
    _slug_for,
    files_load,
)

CLIENT = {
    "company_name": "Ünïcode GmbH",
    "contact_email": "a@b.example",
    "contact_name": "A",
    "plan_type": "free",
    "max_documents": 1,
    "max_requests_per_month": 2,
    "created_at": "2024-01-01",
}


def write(folder, **files):
    for kind in ("clients", "api_keys", "usage"):
        (folder / f"{kind}.json").write_text(json.dumps(files.get(kind, [])), encoding="utf-8")


def test_the_keyed_and_the_list_form_give_the_same_records(tmp_path):
    keyed, listed = tmp_path / "keyed", tmp_path / "listed"
    for folder in (keyed, listed):
        folder.mkdir()
    write(keyed, clients={"client_1": CLIENT})
    write(listed, clients=[{"client_id": "client_1", **CLIENT}])

    assert files_load(keyed)["clients"] == files_load(listed)["clients"]
    assert files_load(keyed)["documents"] == []  # documents.json is optional
    assert files_load(keyed)["clients"][0].legacy_id == "client_1"


def test_a_missing_or_foreign_file_is_refused(tmp_path):
    with pytest.raises(LegacyFilesRefused, match="clients.json is missing"):
        files_load(tmp_path)
    write(tmp_path)
    (tmp_path / "usage.json").write_text('"just a string"')
    with pytest.raises(LegacyFilesRefused, match="neither a list of records nor an object keyed by id"):
        files_load(tmp_path)
    with pytest.raises(LegacyFilesRefused, match="is not a folder"):
        files_load(tmp_path / "clients.json")


def test_timestamps_without_a_zone_are_utc_and_others_keep_theirs():
    assert _moment({"t": "2024-01-15T10:30:00"}, "t") == dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC)
    assert _moment({"t": "2024-01-15T10:30:00+02:00"}, "t") == dt.datetime(2024, 1, 15, 8, 30, tzinfo=dt.UTC)
    assert _moment({"t": "2024-01-15T10:30:00Z"}, "t").utcoffset() == dt.timedelta(0)
    assert _moment({"t": None}, "t") is None and _moment({}, "t") is None
    for bad in ("15/01/2024", 1705312200, "2024-13-01"):
        with pytest.raises(BadRecord, match="not an ISO 8601 date"):
            _moment({"t": bad}, "t")


def test_counts_are_whole_numbers_and_required_fields_are_named():
    assert _count({"n": 5}, "n") == 5 and _count({}, "n") == 0
    for bad in (-1, 1.5, "7", True):
        with pytest.raises(BadRecord, match="not a whole number"):
            _count({"n": bad}, "n")
    with pytest.raises(BadRecord, match="misses the required field"):
        _check_required(Record("clients", {"client_id": "c", **CLIENT, "max_documents": None}))
    _check_required(Record("clients", {"client_id": "c", **CLIENT, "max_documents": 0}))


@pytest.mark.parametrize(
    ("company", "slug"),
    [("Café Zürich GmbH", "cafe-zurich-gmbh"), ("ACME__Corp  (EU)", "acme-corp-eu"), ("東京", "client-")],
)
def test_subdomains_come_from_the_company_name(company, slug, monkeypatch):
    monkeypatch.setattr("ingest.legacy.slug_ensure_available", lambda candidate: None)
    assert _slug_for(Run(plans={}, dry_run=True), company, "client_1").startswith(slug)


def test_a_taken_or_reserved_subdomain_gets_a_number(monkeypatch):
    def available(candidate):
        if candidate in {"test", "acme"}:
            raise ValidationError("taken")

    monkeypatch.setattr("ingest.legacy.slug_ensure_available", available)
    run = Run(plans={}, dry_run=True, slugs_taken={"acme-2"})
    assert (_slug_for(run, "TEST", "c1"), _slug_for(run, "Acme", "c2")) == ("test-2", "acme-3")
