from django.db import models


class SyntheticTruth(models.Model):
    """The hidden risk that ``seed_demo`` gives each demo company and person.

    Nothing in underwriting reads it: it exists so that synthetic credit data and
    realised outcomes can be generated from a known truth, and a trained model can be
    compared with the oracle.
    """

    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        PERSON = "person", "Person"

    subject_kind = models.CharField(max_length=8, choices=Kind.choices)
    subject_id = models.BigIntegerField()
    latent_risk = models.FloatField(help_text="Standard-normal latent risk; higher is riskier.")

    class Meta:
        constraints = [
            # Not "synthetic_truth_unique_subject": that index still belongs to loans' table
            # while migration demo 0001 copies its rows over (PostgreSQL index names are global).
            models.UniqueConstraint(fields=["subject_kind", "subject_id"], name="demo_synthetic_truth_unique_subject"),
        ]

    def __str__(self) -> str:
        return f"synthetic truth of {self.subject_kind} #{self.subject_id}"
