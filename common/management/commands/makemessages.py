"""makemessages without fuzzy matching.

msgmerge's default fuzzy matching fills a new msgid with the translation of a similar old one
(e.g. "invitation" -> "Hoofdnavigatie") and flags it fuzzy; those guesses are wrong more often
than not here. New strings stay empty instead, so the translation test names them.
"""

from django.core.management.commands.makemessages import Command as BaseCommand


class Command(BaseCommand):
    msgmerge_options = [*BaseCommand.msgmerge_options, "--no-fuzzy-matching"]
