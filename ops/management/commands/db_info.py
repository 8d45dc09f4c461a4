"""`manage.py db_info`: how big the database is, where, and how it is being looked after."""

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from ops.database import database_info


def when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"


class Command(BaseCommand):
    help = "Print the size per schema, the largest tables, row counts, connections, last vacuum/analyze."

    def add_arguments(self, parser):
        parser.add_argument(
            "--largest", type=int, default=10, metavar="N", help="How many tables to list (10)."
        )

    def handle(self, *args, largest: int, **options):
        info = database_info(largest=max(largest, 1))
        write = self.stdout.write
        write(f"Database {info.name}: {filesizeformat(info.bytes)}, {info.server_version}")
        in_use = ", ".join(f"{count} {state}" for state, count in info.connections.items())
        write(f"Connections: {sum(info.connections.values())} of {info.max_connections} ({in_use})")
        write(f"\nSchemas ({len(info.schemas)}), rows as estimated by PostgreSQL's statistics:")
        for schema in info.schemas:
            write(
                f"  {schema.name:<30} {filesizeformat(schema.bytes):>10} {schema.tables:>5} tables {schema.rows:>12} rows"
            )
        write(f"\nLargest {len(info.largest_tables)} tables:")
        for table in info.largest_tables:
            write(
                f"  {table.schema + '.' + table.name:<50} {filesizeformat(table.bytes):>10} {table.rows:>12} rows"
                f"  vacuumed {when(table.last_vacuum)}, analyzed {when(table.last_analyze)}"
            )
