from django.db import migrations

# The twelve work fields of care and welfare the Ik Zorg campaign recruits for.
WORK_FIELDS = [
    ("ziekenhuizen", "Ziekenhuizen"),
    ("umc", "Universitair medische centra"),
    ("ggz", "Geestelijke gezondheidszorg (ggz)"),
    ("gehandicaptenzorg", "Gehandicaptenzorg"),
    ("vvt", "Verpleeg- en verzorgingshuizen en thuiszorg"),
    ("jeugdzorg", "Jeugdzorg"),
    ("kinderopvang", "Kinderopvang"),
    ("sociaal-werk", "Sociaal werk"),
    ("huisartsenzorg", "Huisartsenzorg"),
    ("geboortezorg", "Geboortezorg"),
    ("ambulancezorg", "Ambulancezorg"),
    ("apotheken", "Apotheken"),
]


def load(apps, schema_editor):
    WorkField = apps.get_model("schools", "WorkField")
    for position, (slug, name) in enumerate(WORK_FIELDS, start=1):
        WorkField.objects.update_or_create(slug=slug, defaults={"name": name, "position": position})


def unload(apps, schema_editor):
    WorkField = apps.get_model("schools", "WorkField")
    WorkField.objects.filter(slug__in=[slug for slug, _name in WORK_FIELDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
