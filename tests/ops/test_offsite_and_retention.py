"""Off-site copies against a local S3-compatible server the tests start (moto's server mode), and
`manage.py backups_cleanup`'s retention."""

import datetime as dt
from urllib.request import Request, urlopen

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from moto.server import ThreadedMotoServer

from ops.backups import BackupFiles, backup_create, backup_files
from ops.checksums import chunks_sha256, file_sha256
from ops.models import Backup
from ops.offsite import object_key, s3_client

BUCKET = "pulse-backups"


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = str(tmp_path / "backups")
    settings.BACKUP_RETENTION_DAYS = 30
    settings.AWS_S3_BACKUP_BUCKET = ""
    return tmp_path / "backups"


@pytest.fixture
def s3_server(settings, monkeypatch):
    """An S3-compatible server on loopback with an empty bucket, Pulse configured to use it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for variable, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.AWS_S3_ENDPOINT_URL = f"http://{host}:{port}"
    settings.AWS_S3_BACKUP_BUCKET = BUCKET
    # Servers started in one process share moto's state: begin with no bucket of an earlier test.
    urlopen(Request(f"{settings.AWS_S3_ENDPOINT_URL}/moto-api/reset", method="POST")).close()
    s3_client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


def bucket_keys() -> list[str]:
    return sorted(item["Key"] for item in s3_client().list_objects_v2(Bucket=BUCKET).get("Contents", []))


def remote_sha256(key: str) -> str:
    return chunks_sha256(s3_client().get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks())


@pytest.mark.django_db(transaction=True)
def test_every_backup_is_uploaded_with_its_checksum_and_manifest(committed_tenants, s3_server):
    committed_tenants("alice")

    backup = backup_create()

    files = backup_files(backup)
    assert backup.offsite == Backup.Offsite.UPLOADED
    assert bucket_keys() == sorted(object_key(path) for path in files.all())
    for path in files.all():
        assert remote_sha256(object_key(path)) == file_sha256(path)


@pytest.mark.django_db(transaction=True)
def test_a_failed_upload_is_recorded_and_the_command_fails_but_the_local_backup_stays(
    committed_tenants, s3_server
):
    committed_tenants("alice")
    s3_client().delete_bucket(Bucket=BUCKET)

    with pytest.raises(CommandError, match="off-site copy failed: .*NoSuchBucket"):
        call_command("backup")

    backup = Backup.objects.get()
    assert backup.status == Backup.Status.OK and backup.offsite == Backup.Offsite.FAILED
    assert all(path.is_file() for path in backup_files(backup).all())


def backup_made(backup_dir, *, days_ago: int, status=Backup.Status.OK, offsite=Backup.Offsite.NOT_CONFIGURED):
    """A Backup record with small files standing for its dump, checksum and manifest."""
    started = timezone.now() - dt.timedelta(days=days_ago)
    name = f"pulse-{started:%Y%m%dT%H%M%S}.000Z.dump"
    backup_dir.mkdir(exist_ok=True)
    for path in BackupFiles(backup_dir / name).all():
        path.write_text(f"{path.name}\n")
    return Backup.objects.create(file_name=name, status=status, started_at=started, offsite=offsite)


def present(backup_dir) -> set[str]:
    return {path.name for path in backup_dir.glob("*.dump")}


def test_cleanup_keeps_the_retention_days_and_deletes_older_ones(db, backup_dir):
    old, old_failed = (
        backup_made(backup_dir, days_ago=45),
        backup_made(backup_dir, days_ago=31, status="failed"),
    )
    recent = [backup_made(backup_dir, days_ago=days) for days in (29, 1)]

    call_command("backups_cleanup", "--confirm", "backups")

    assert present(backup_dir) == {backup.file_name for backup in recent}
    assert {path.suffix for path in backup_dir.iterdir()} == {".dump", ".sha256", ".json"}
    assert set(Backup.objects.values_list("pk", flat=True)) == {backup.pk for backup in recent}
    assert not Backup.objects.filter(pk__in=[old.pk, old_failed.pk]).exists()


def test_cleanup_never_deletes_the_newest_good_backup(db, backup_dir, capsys):
    newest_good = backup_made(backup_dir, days_ago=40)
    backup_made(backup_dir, days_ago=50)
    backup_made(backup_dir, days_ago=35, status=Backup.Status.FAILED)

    call_command("backups_cleanup", "--confirm", "backups")

    assert present(backup_dir) == {newest_good.file_name}
    assert list(Backup.objects.all()) == [newest_good]
    assert f"the newest complete one, {newest_good.file_name}" in capsys.readouterr().out


def test_cleanup_refuses_without_confirm_outside_development_and_dry_run_deletes_nothing(
    db, backup_dir, capsys
):
    old = backup_made(backup_dir, days_ago=45)
    backup_made(backup_dir, days_ago=1)

    with pytest.raises(CommandError, match="--confirm backups"):
        call_command("backups_cleanup")
    call_command("backups_cleanup", "--dry-run")

    assert f"would delete {old.file_name}" in capsys.readouterr().out
    assert len(present(backup_dir)) == 2 and Backup.objects.count() == 2


def test_cleanup_deletes_the_off_site_copies_too(db, backup_dir, s3_server):
    old = backup_made(backup_dir, days_ago=45, offsite=Backup.Offsite.UPLOADED)
    kept = backup_made(backup_dir, days_ago=1, offsite=Backup.Offsite.UPLOADED)
    for backup in (old, kept):
        for path in backup_files(backup).all():
            s3_client().upload_file(str(path), BUCKET, object_key(path))

    call_command("backups_cleanup", "--confirm", "backups")

    assert bucket_keys() == sorted(object_key(path) for path in backup_files(kept).all())


def test_cleanup_keeps_a_backup_whose_off_site_copy_cannot_be_deleted(db, backup_dir, s3_server):
    old = backup_made(backup_dir, days_ago=45, offsite=Backup.Offsite.UPLOADED)
    backup_made(backup_dir, days_ago=1)
    s3_server.stop()

    with pytest.raises(CommandError, match="1 backups could not be deleted off site"):
        call_command("backups_cleanup", "--confirm", "backups")

    assert old.file_name in present(backup_dir) and Backup.objects.filter(pk=old.pk).exists()
