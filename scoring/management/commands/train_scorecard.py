"""Train a scorecard on the database's history or on any CSV with a binary target.

    python manage.py train_scorecard --subject person|company [--promote]
    python manage.py train_scorecard --csv PATH --target COLUMN [--bad-value VALUE] [--exclude COL ...]

Prints holdout and k-fold cross-validation ``auc:``, ``ks:``, ``gini:`` lines and the score
distribution, then saves the model as a draft (``--promote``: champion).
"""

from django.core.management.base import BaseCommand, CommandError

from scoring.features import FeatureRangeError
from scoring.training import TrainingError
from scoring.training_runs import DEFAULT_MAX_ROWS, run_csv_training, run_subject_training


class Command(BaseCommand):
    help = "Train a scorecard (optbinning + logistic regression) and save it as a draft ScoreModel."

    def add_arguments(self, parser):
        parser.add_argument("--subject", choices=["person", "company"],
                            help="train on the database's outcomes; with --csv: the CSV holds dictionary features of this kind")
        parser.add_argument("--csv", help="path of a CSV with a binary target column")
        parser.add_argument("--target", help="target column of the CSV")
        parser.add_argument("--bad-value", help="the target value that means bad (default: 1, 'bad', 'default', ...)")
        parser.add_argument("--exclude", action="append", default=[], help="a CSV column to ignore (repeatable)")
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS,
                            help="subsample the database's history to at most this many rows")
        parser.add_argument("--promote", action="store_true", help="make the new model the champion")

    def handle(self, *args, **opts):
        if not opts["csv"] and not opts["subject"]:
            raise CommandError("give --subject person|company or --csv PATH --target COLUMN")
        if opts["folds"] < 2:
            raise CommandError("--folds must be at least 2")
        try:
            if opts["csv"]:
                if not opts["target"]:
                    raise CommandError("--csv needs --target COLUMN")
                run_csv_training(
                    opts["csv"], target=opts["target"], bad_value=opts["bad_value"], exclude=opts["exclude"],
                    subject_kind=opts["subject"], folds=opts["folds"], seed=opts["seed"],
                    promote=opts["promote"], stdout=self.stdout,
                )
            else:
                run_subject_training(
                    opts["subject"], folds=opts["folds"], seed=opts["seed"], max_rows=opts["max_rows"],
                    promote=opts["promote"], stdout=self.stdout,
                )
        except (TrainingError, FeatureRangeError) as exc:
            raise CommandError(f"{exc} (nothing saved)") from exc
