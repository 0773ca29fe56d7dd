"""factory-boy factories for the loans domain.  Identities are valid (stdnum check digits)."""

import datetime
import itertools
import random
from decimal import Decimal

import factory

from config.demo.identities import make_resident_id, make_uscc
from loans import models
from loans.choices import CompanyStatus, ProductKind, RepaymentMethod, Role

_rng = random.Random(20261129)
_person_counter = itertools.count()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Partner

    name = factory.Sequence(lambda n: f"Partner {n}")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Company

    legal_name = factory.Sequence(lambda n: f"测试贸易有限公司 {n}")
    uscc = factory.LazyFunction(lambda: make_uscc(_rng))
    industry = "F"
    province = "31"
    founded_on = datetime.date(2015, 3, 1)
    registered_capital = Decimal("1000000.00")
    employees = 25
    annual_revenue = Decimal("8000000.00")
    status = CompanyStatus.ACTIVE


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    name = factory.Sequence(lambda n: f"张{n}")


    @classmethod
    def _create(cls, model_class, *args, resident_id=None, phone=None, **kwargs):
        person = model_class(**kwargs)
        if resident_id is None:
            # A distinct birth date per person keeps generated IDs unique across a test.
            n = next(_person_counter)
            resident_id = make_resident_id(_rng, datetime.date(1960, 1, 1) + datetime.timedelta(days=n % 15000))
        person.set_resident_id(resident_id)
        person.set_phone(phone or f"138{_rng.randrange(10**8):08d}")
        person.save()
        return person


class RelatedPartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RelatedParty

    company = factory.SubFactory(CompanyFactory)
    person = factory.SubFactory(PersonFactory)
    role = Role.LEGAL_REPRESENTATIVE
    ownership_pct = None
    valid_from = datetime.date(2015, 3, 1)


class LoanProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.LoanProduct
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"product-{n}")
    name = "SME revolving credit"
    kind = ProductKind.REVOLVING
    repayment_method = RepaymentMethod.EQUAL_INSTALLMENT
    min_amount = Decimal("10000.00")
    max_amount = Decimal("3000000.00")
    min_term_months = 3
    max_term_months = 36
    min_score = 600


def user_in(django_user_model, username, role=None):
    """A staff user in the named role's group (none when ``role`` is None), read back fresh so
    that its permissions come from the group."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)
