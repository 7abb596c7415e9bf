import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "arbeidsmarktregios.csv"


def load_regions(apps, schema_editor):
    Region = apps.get_model("organisations", "Region")
    with DATA.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Region.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
