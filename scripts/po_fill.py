"""Fill missing translations in a .po file from a JSON object {msgid: msgstr}.

Plural entries take a list [singular, plural]. Existing translations are kept unless --force.
Usage: .venv/bin/python scripts/po_fill.py locale/nl/LC_MESSAGES/django.po translations.json
Then run `make messages` (or compilemessages) to rebuild the .mo file.
"""

import json
import sys

import polib


def main(po_path: str, json_path: str, force: bool = False) -> None:
    po = polib.pofile(po_path)
    with open(json_path, encoding="utf-8") as fh:
        table = json.load(fh)
    filled = 0
    for entry in po:
        if entry.msgid not in table:
            continue
        value = table[entry.msgid]
        # A fuzzy entry holds msgmerge's guess, not a translation: always replace it.
        force_entry = force or "fuzzy" in entry.flags
        if entry.msgid_plural:
            if force_entry or not any(entry.msgstr_plural.values()):
                entry.msgstr_plural = {0: value[0], 1: value[1]}
                filled += 1
        elif force_entry or not entry.msgstr:
            entry.msgstr = value
            filled += 1
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.save(po_path)
    missing = [e.msgid for e in po if not e.translated() and not e.obsolete]
    print(f"filled {filled}; still untranslated: {len(missing)}")
    for msgid in missing:
        print("  ", msgid)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], force="--force" in sys.argv)
