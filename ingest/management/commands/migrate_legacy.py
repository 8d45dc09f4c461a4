"""Take over the predecessor chatbot SaaS's clients, API keys, usage and documents from its JSON
files (see README, "Coming from the chatbot SaaS"). The files are backed up and never modified."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.legacy import KINDS, LegacyFilesRefused, Report, legacy_migrate

STATISTICS = {"clients": "Clients", "api_keys": "API keys", "usage": "Usage stats", "documents": "Documents"}


def plan_map_parse(text: str) -> dict[str, str]:
    """ "basic=starter,premium=pro" → {"basic": "starter", "premium": "pro"}."""
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    if any(pair.count("=") != 1 or pair.startswith("=") or pair.endswith("=") for pair in pairs):
        raise CommandError(
            f"--plan-map {text!r} is not a list of legacy=pulse pairs, e.g. basic=starter,premium=pro."
        )
    return dict(pair.split("=") for pair in pairs)


class Command(BaseCommand):
    help = (
        "Migrate the predecessor chatbot SaaS's JSON files (clients, api_keys, usage, documents) into Pulse."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="the folder holding clients.json, api_keys.json, usage.json[, documents.json]"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
        parser.add_argument(
            "--resend-links",
            action="store_true",
            help="a new set-password link for each migrated admin who has not set a password yet",
        )
        parser.add_argument(
            "--plan-map", default="", help="legacy plan types to Pulse plans: basic=starter,premium=pro"
        )

    def handle(self, *args, path, dry_run, plan_map, resend_links, **options):
        try:
            report, backup = legacy_migrate(
                folder=Path(path),
                plan_map=plan_map_parse(plan_map),
                dry_run=dry_run,
                resend_links=resend_links,
            )
        except LegacyFilesRefused as refusal:
            raise CommandError(f"{refusal} Nothing was migrated.") from refusal
        self.stdout.write(
            "Dry run: the report of a real run; nothing is written and no backup is made."
            if dry_run
            else f"Backed up the JSON files to {backup}"
        )
        self._write_report(report)
        if report.skipped:
            raise CommandError(
                f"{report.skipped} record(s) not migrated (named above). Fix them in the JSON files and run again: "
                "what was migrated is recognised and left alone."
            )

    def _write_report(self, report: Report) -> None:
        for kind in KINDS:
            tally = report.tallies[kind]
            self.stdout.write(f"{kind}: migrated {tally.new + tally.already}/{tally.total}{_detail(tally)}")
            for legacy_id, reason in tally.skipped:
                self.stdout.write(f"   ✗ {legacy_id}: {reason}")
        self.stdout.write("Database statistics:")
        for kind in KINDS:
            self.stdout.write(f"   - {STATISTICS[kind]}: {report.statistics[kind]}")
        if report.links:
            self.stdout.write("Admin users: each sets a password once, through their link:")
        for link in report.links:
            self.stdout.write(f"   {link.slug}: {link.email} {link.url} (e-mail: {link.mailed})")


def _detail(tally) -> str:
    parts = []
    if tally.already:
        parts.append("already migrated" if not tally.new else f"{tally.already} already migrated")
    if tally.skipped:
        parts.append(f"{len(tally.skipped)} skipped")
    return f" ({', '.join(parts)})" if parts else ""
