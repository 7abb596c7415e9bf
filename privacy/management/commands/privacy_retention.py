"""Show (--dry-run) or carry out the anonymisation of events past their retention period."""

from django.core.management.base import BaseCommand

from privacy import services


class Command(BaseCommand):
    help = "Anonymise personal data of events whose retention period has passed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only show what would be anonymised per event; change nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        reports = services.retention_run(dry_run=dry_run)
        header = "Would anonymise" if dry_run else "Anonymised"
        if not reports:
            self.stdout.write("Nothing to anonymise.")
            return
        for r in reports:
            self.stdout.write(
                f"{header}: event {r.event_id} ({r.event_title}, ended {r.ended_at:%Y-%m-%d}, "
                f"{r.retention_days} days): persons={r.persons} answers={r.answers} "
                f"waitlist_entries={r.waitlist_entries} press_responses={r.press_responses} "
                f"certificates={r.certificates} mails={r.mails}"
            )
