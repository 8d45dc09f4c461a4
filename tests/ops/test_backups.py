"""`manage.py backup`, `restore` and `restore_drill` against the real test database: pg_dump and
pg_restore run for real, so the data they read is committed (transactional tests)."""

import json
import os
import stat
import subprocess
import sys
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ops.backups import backup_create, backup_files, pulse_version
from ops.checksums import file_sha256
from ops.models import Backup, RestoreDrill
from ops.pgtools import (
    PgToolError,
    connect,
    database_create,
    database_drop,
    database_settings,
    pg_program,
    run,
)
from ops.restore import RestoreRefused, database_restore, restore_drill_run
from tenants.models import ApiKey, Tenant, UsageMonth
from tenants.selectors import api_key_resolve
from tenants.services import api_key_create, usage_record_upload
from tests.celery_worker import REPO
from tests.conftest import host_client, schemas_drop, signed_in_client, tenant_member, tenant_user_count

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = str(tmp_path / "backups")
    settings.AWS_S3_BACKUP_BUCKET = ""
    return tmp_path / "backups"


@pytest.fixture
def scratch_database():
    name = f"test_scratch_{uuid.uuid4().hex[:8]}"
    database_create(name)
    yield name
    database_drop(name)


def test_a_backup_writes_dump_checksum_and_manifest(committed_tenants, backup_dir, capsys):
    committed_tenants("alice")
    call_command("backup")

    backup = Backup.objects.get()
    files = backup_files(backup)
    assert files.dump.name.startswith("pulse-") and files.dump.parent == backup_dir
    assert sorted(path.name for path in backup_dir.iterdir()) == sorted(path.name for path in files.all())
    manifest = json.loads(files.manifest.read_text())
    assert {"public", "alice", "tenant_base"} <= set(manifest["schemas"])
    assert manifest["tables"]["alice.users_user"] == 1
    assert manifest["size_bytes"] == files.dump.stat().st_size == backup.size_bytes
    assert manifest["pulse_version"] == pulse_version() and manifest["duration_seconds"] > 0
    assert manifest["server_version"] == connection.cursor().execute("SHOW server_version").fetchone()[0]
    assert f"{backup.sha256}  {files.dump.name}" in files.checksum.read_text()
    assert backup.status == Backup.Status.OK and backup.rows == sum(manifest["tables"].values())
    assert str(files.dump) in capsys.readouterr().out


def test_the_drill_restores_the_newest_backup_with_identical_row_counts(committed_tenants, capsys):
    committed_tenants("alice")
    backup_create()

    call_command("restore_drill")

    drill = RestoreDrill.objects.get()
    assert drill.identical and drill.backup == Backup.objects.get() and drill.tables > 50
    out = capsys.readouterr().out
    assert f"restore drill: {drill.tables} tables, {drill.rows} rows, identical" in out
    with connect("postgres") as conn:  # the scratch database is gone
        assert not conn.execute("SELECT 1 FROM pg_database WHERE datname LIKE 'pulse_scratch_%'").fetchall()


def test_a_restore_into_an_empty_database_has_the_manifest_row_counts(committed_tenants, scratch_database):
    committed_tenants("alice")
    files = backup_files(backup_create())

    manifest = database_restore(dump=files.dump, database=scratch_database)

    with connect(scratch_database) as conn:
        restored_users = conn.execute("SELECT username FROM alice.users_user").fetchall()
        restored_tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'alice'"
        ).fetchone()[0]
    assert restored_users == [("admin",)]
    assert restored_tables == len([table for table in manifest["tables"] if table.startswith("alice.")])


def test_a_corrupted_dump_is_refused_by_its_checksum(committed_tenants, scratch_database):
    committed_tenants("alice")
    files = backup_files(backup_create())
    data = bytearray(files.dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    files.dump.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="does not match its checksum"):
        call_command("restore", str(files.dump), "--confirm", database_settings()["dbname"])
    with pytest.raises(CommandError, match="restore drill failed: .*does not match its checksum"):
        call_command("restore_drill")
    assert not RestoreDrill.objects.get().identical


def test_restore_refuses_a_database_that_is_not_empty(committed_tenants):
    committed_tenants("alice")
    files = backup_files(backup_create())
    tenants_before = connection.cursor().execute("SELECT count(*) FROM tenants_tenant").fetchone()

    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(files.dump), "--confirm", database_settings()["dbname"])
    assert connection.cursor().execute("SELECT count(*) FROM tenants_tenant").fetchone() == tenants_before


def test_restore_refuses_to_run_outside_development_without_confirm(committed_tenants):
    committed_tenants("alice")
    files = backup_files(backup_create())

    with pytest.raises(CommandError, match=f"--confirm {database_settings()['dbname']}"):
        call_command("restore", str(files.dump))
    with pytest.raises(CommandError, match="does not match"):
        call_command("restore", str(files.dump), "--confirm", "some-other-database")


def _fake_pg_dump(directory, *, version: int, fails: bool = False):
    """A pg_dump that reports `version` and, when dumping, writes half a file and fails."""
    directory.mkdir()
    program = directory / "pg_dump"
    program.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}.0"; exit 0; fi\n'
        'for arg; do case "$arg" in --file=*) echo half > "${arg#--file=}";; esac; done\n'
        f"exit {1 if fails else 0}\n"
    )
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return directory


def test_a_failed_backup_leaves_no_file_that_looks_complete(
    committed_tenants, settings, tmp_path, backup_dir
):
    committed_tenants("alice")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    settings.PG_BIN_DIR = str(_fake_pg_dump(tmp_path / "bin", version=server_major, fails=True))

    with pytest.raises(CommandError, match="Backup failed: pg_dump failed"):
        call_command("backup")

    assert list(backup_dir.iterdir()) == []
    assert Backup.objects.get().status == Backup.Status.FAILED


def test_a_pg_dump_older_than_the_server_is_refused_with_the_version_needed(monkeypatch, tmp_path, db):
    old = _fake_pg_dump(tmp_path / "old", version=9)
    monkeypatch.setattr("ops.pgtools._bin_dirs", lambda: [old])

    with pytest.raises(PgToolError, match=r"pg_dump 1\d or newer is needed .* found: .*pg_dump \(9\)"):
        pg_program("pg_dump")


def test_backup_of_an_unknown_tenant_names_the_known_ones(committed_tenants):
    committed_tenants("alice")
    with pytest.raises(CommandError, match="No tenant “nobody”. Known tenants: alice"):
        call_command("backup", "--tenant", "nobody")
    assert not Backup.objects.exists()


def _table_contents(schema: str) -> dict[str, list[tuple]]:
    """Every row of every table of `schema`, sorted: what two copies must agree on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema])
        tables = [table for (table,) in cursor.fetchall()]
        contents = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{schema}"."{table}"')
            contents[table] = sorted(map(repr, cursor.fetchall()))
    return contents


@pytest.fixture
def restored_alice2():
    yield "alice2"
    connection.set_schema_to_public()
    schemas_drop(["alice2"])
    Tenant.objects.filter(schema_name="alice2").delete()


def test_a_tenant_restored_side_by_side_equals_the_original_and_shares_nothing(
    committed_tenants, restored_alice2
):
    alice, bob = committed_tenants("alice"), committed_tenants("bob")
    api_key_create(tenant=bob, name="bob's erp")
    usage_record_upload(tenant=bob)
    tenant_member("alice", "carol")
    key, full_key = api_key_create(tenant=alice, name="crm")
    usage_record_upload(tenant=alice)
    signed_in_client("alice")  # a session row in alice's schema
    files = backup_files(backup_create(tenant_slug="alice"))
    manifest = json.loads(files.manifest.read_text())
    assert manifest["schemas"] == ["alice"] and manifest["public_rows"]["tenant"]["schema_name"] == "alice"
    assert [key["name"] for key in manifest["public_rows"]["api_keys"]] == ["crm"]
    assert [usage["tenant_id"] for usage in manifest["public_rows"]["usage_months"]] == [alice.pk]
    bob_before = _table_contents("bob")

    call_command("restore", str(files.dump), "--tenant", "alice", "--as", "alice2", "--confirm", "alice2")

    copy = Tenant.objects.get(schema_name="alice2")
    original, restored = _table_contents("alice"), _table_contents("alice2")
    assert restored.pop("django_session") == [] and original.pop("django_session") != []
    assert restored == original
    assert _table_contents("bob") == bob_before
    assert copy.pk != alice.pk and copy.name == alice.name and copy.plan == alice.plan
    assert list(copy.domains.values_list("domain", flat=True)) == ["alice2.localhost"]
    assert list(UsageMonth.objects.filter(tenant=copy).values_list("documents", flat=True)) == [1]
    copied_key = ApiKey.objects.get(tenant=copy)
    assert copied_key.name == "crm" and copied_key.pk != key.pk and copied_key.prefix != key.prefix
    assert copied_key.revoked_at is not None and copied_key.secret_hash != key.secret_hash
    assert api_key_resolve(full_key).tenant == alice  # the original's key opens only the original
    tenant_member("alice2", "dave")
    assert tenant_user_count("alice2") == tenant_user_count("alice") + 1


def test_a_tenant_restore_refuses_a_taken_slug_and_another_tenants_backup(committed_tenants):
    committed_tenants("alice")
    committed_tenants("bob")
    files = backup_files(backup_create(tenant_slug="alice"))
    schemas_before = connection.cursor().execute("SELECT count(*) FROM pg_namespace").fetchone()

    with pytest.raises(CommandError, match="“bob” is already taken"):
        call_command("restore", str(files.dump), "--tenant", "alice", "--as", "bob", "--confirm", "bob")
    with pytest.raises(CommandError, match="is a backup of tenant “alice”, not of tenant “bob”"):
        call_command("restore", str(files.dump), "--tenant", "bob", "--as", "bob2", "--confirm", "bob2")
    with pytest.raises(CommandError, match="restore it with --tenant"):
        call_command("restore", str(files.dump), "--confirm", database_settings()["dbname"])
    assert connection.cursor().execute("SELECT count(*) FROM pg_namespace").fetchone() == schemas_before


def test_staff_see_backups_and_drills_in_the_back_office_read_only_and_no_tenant_does(
    committed_tenants, admin_user
):
    committed_tenants("alice")
    backup = Backup.objects.create(
        file_name="pulse-x.dump", status=Backup.Status.OK, started_at="2026-11-29T03:00Z"
    )
    RestoreDrill.objects.create(
        backup=backup, backup_file_name=backup.file_name, started_at="2026-11-29T05:00Z"
    )
    staff = host_client(None)
    staff.force_login(admin_user)

    for page in ("/admin/ops/backup/", "/admin/ops/restoredrill/"):
        response = staff.get(page)
        assert response.status_code == 200 and "pulse-x.dump" in response.content.decode()
        assert signed_in_client("alice").get(page).status_code == 404  # the workspace admin has no such page
    assert staff.get(f"/admin/ops/backup/{backup.pk}/delete/").status_code == 403


def _user_table_count(database: str) -> int:
    with connect(database) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()[0]


def test_a_tampered_backup_is_refused_and_a_restore_failing_halfway_leaves_the_database_empty(
    committed_tenants, scratch_database
):
    committed_tenants("alice")
    files = backup_files(backup_create())
    original_manifest, original_sums = files.manifest.read_text(), files.checksum.read_text()

    files.manifest.write_text(original_manifest.replace('"alice.users_user": 1', '"alice.users_user": 2'))
    with pytest.raises(RestoreRefused, match=f"{files.manifest.name} does not match its checksum"):
        database_restore(dump=files.dump, database=scratch_database)
    files.manifest.write_text(original_manifest)
    files.checksum.write_text("")
    with pytest.raises(RestoreRefused, match="does not list the checksums"):
        database_restore(dump=files.dump, database=scratch_database)
    assert _user_table_count(scratch_database) == 0

    # A dump cut short whose checksum file was made to match: pg_restore fails partway through.
    files.dump.write_bytes(files.dump.read_bytes()[: files.dump.stat().st_size * 2 // 3])
    sums = original_sums.splitlines()
    files.checksum.write_text(f"{file_sha256(files.dump)}  {files.dump.name}\n{sums[1]}\n")
    with pytest.raises(PgToolError, match="pg_restore failed"):
        database_restore(dump=files.dump, database=scratch_database)
    assert _user_table_count(scratch_database) == 0


def test_the_restore_command_fills_an_empty_database_named_by_database_url(
    committed_tenants, scratch_database
):
    committed_tenants("alice")
    files = backup_files(backup_create())
    db = database_settings()
    url = f"postgresql://{db['user']}@{db['host']}:{db['port']}/{scratch_database}"
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    command = [sys.executable, "manage.py", "restore", str(files.dump)]

    refused = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True)
    restored = subprocess.run(
        [*command, "--confirm", scratch_database], cwd=REPO, env=environment, capture_output=True, text=True
    )

    assert refused.returncode == 1 and f"--confirm {scratch_database}" in refused.stderr
    manifest = json.loads(files.manifest.read_text())
    assert restored.returncode == 0, restored.stderr
    assert f"{len(manifest['tables'])} tables, {sum(manifest['tables'].values())} rows" in restored.stdout
    with connect(scratch_database) as conn:
        assert conn.execute("SELECT schema_name FROM tenants_tenant ORDER BY 1").fetchall() == [
            ("alice",),
            ("public",),
        ]


def test_a_dump_that_would_fill_the_servers_lock_table_is_refused_with_the_setting_to_raise(
    committed_tenants, backup_dir, monkeypatch
):
    committed_tenants("alice")
    monkeypatch.setattr("ops.backups.lock_table_size", lambda cursor: (4, 10))  # a server with 40 lock slots

    with pytest.raises(
        CommandError,
        match=r"more than half of the server's lock table .* Set max_locks_per_transaction to at least \d+",
    ):
        call_command("backup")

    assert list(backup_dir.iterdir()) == [] and Backup.objects.get().status == Backup.Status.FAILED


def test_the_manifest_counts_what_the_dump_holds_while_pulse_keeps_writing(committed_tenants, monkeypatch):
    committed_tenants("alice")

    def pg_dump_then_a_write(program, args, **kwargs):
        output = run(program, args, **kwargs)
        tenant_member("alice", "written-during-the-backup")  # committed after the snapshot
        return output

    monkeypatch.setattr("ops.backups.run", pg_dump_then_a_write)
    manifest = json.loads(backup_files(backup_create()).manifest.read_text())

    assert manifest["tables"]["alice.users_user"] == 1 and tenant_user_count("alice") == 2
    drill = restore_drill_run()
    assert drill.identical, drill.differences
