from django.core.management import call_command
from django.db import connection

from tenants.schema_clone import schema_clone, schema_clone_many

CATALOG_SQL = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attidentity, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(schema)s::regnamespace AND c.relkind = 'r'
          AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = %(schema)s::regnamespace""",
    "indexes": """
        SELECT c.relname, replace(pg_get_indexdef(i.indexrelid), %(schema)s || '.', '')
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = %(schema)s::regnamespace""",
}


def catalog(schema: str) -> dict[str, set]:
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}"')
        result = {}
        for name, sql in CATALOG_SQL.items():
            cursor.execute(sql, {"schema": schema})
            result[name] = set(cursor.fetchall())
        cursor.execute("SET search_path TO public")
    return result


def rows(schema: str, table: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
        return cursor.fetchall()


def test_a_cloned_schema_matches_a_migrated_one(db):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated"')
    call_command("migrate_schemas", tenant=True, schema_name="migrated", interactive=False, verbosity=0)
    schema_clone(source="tenant_base", target="cloned")

    assert catalog("cloned") == catalog("migrated")
    assert rows("cloned", "django_migrations") == rows("tenant_base", "django_migrations")


def test_a_cloned_schema_hands_out_fresh_ids_after_the_copied_rows(db):
    schema_clone(source="tenant_base", target="cloned")
    copied = rows("cloned", "django_content_type")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cloned.django_content_type (app_label, model) VALUES ('x', 'y') RETURNING id"
        )
        new_id = cursor.fetchone()[0]
    assert new_id == max(row[0] for row in copied) + 1


def test_cloning_many_schemas_at_once_gives_each_what_one_clone_gives(db):
    schema_clone(source="tenant_base", target="cloned")
    schema_clone_many(source="tenant_base", targets=["first", "second"])

    for schema in ("first", "second"):
        assert catalog(schema) == catalog("cloned")
        assert rows(schema, "django_migrations") == rows("tenant_base", "django_migrations")
