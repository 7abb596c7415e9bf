from django.db import migrations, models
from django.db.models import F

# Kinds never shown publicly (events.models.Event.PRIVATE_KINDS at the time of writing).
PRIVATE_KINDS = ("school_session", "intervision")


def backfill(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    # Published events were published; when exactly is not recorded, so their creation time.
    Event.objects.filter(status="published").update(published_at=F("created_at"))
    # Cancelled events of public kinds were shown (as cancelled) until now; whether they had
    # been published first is not recorded, so they stay visible. Cancelled events of private
    # kinds (a cancelled school session) are hidden by their kind whatever this field says.
    Event.objects.filter(status="cancelled").exclude(kind__in=PRIVATE_KINDS).update(
        published_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_event_refund_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="published_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="first published"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
