"""Rewrite config/backoffice/model_words.py from the models (then run makemessages)."""

from django.core.management.base import BaseCommand

from config.backoffice.model_i18n import WORDS_FILE, declared_words, render_words_module


class Command(BaseCommand):
    help = "List the project's model and field names for makemessages (config/backoffice/model_words.py)."

    def handle(self, *args, **options):
        words = declared_words()
        WORDS_FILE.write_text(render_words_module(words), encoding="utf-8")
        self.stdout.write(f"{len(words)} words written to {WORDS_FILE}")
