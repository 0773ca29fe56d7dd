"""English and Simplified Chinese: chosen by the browser or the user, names from the catalogue."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from config.backoffice import model_i18n

LOCALE = Path(settings.BASE_DIR) / "config" / "locale" / "zh_Hans" / "LC_MESSAGES"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _text(response):
    return response.content.decode()


@pytest.mark.django_db
def test_the_browser_language_chooses_chinese(admin_client):
    html = _text(admin_client.get("/admin/loans/loanapplication/", HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert 'lang="zh-hans"' in html
    for words in ("贷款申请", "授信审批", "贷款台账", "风险模型", "系统设置", "输入以搜索"):
        assert words in html, words
    english = _text(admin_client.get("/admin/loans/loanapplication/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Loan book" in english and "贷款台账" not in english


@pytest.mark.django_db
def test_field_labels_and_model_names_are_translated(admin_client, settings):
    from tests.factories import CompanyFactory

    company = CompanyFactory()
    html = _text(admin_client.get(f"/admin/parties/company/{company.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    for words in ("企业名称", "统一社会信用代码", "注册资本", "年营业收入", "关联方", "保存"):
        assert words in html, words


@pytest.mark.django_db
def test_the_user_switches_language(admin_client):
    r = admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    assert r.status_code == 302
    html = _text(admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "授信审批" in html  # the user's choice wins over the browser's
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Underwriting" in _text(admin_client.get("/admin/"))


@pytest.mark.django_db
def test_the_language_switch_is_on_the_page(admin_client):
    html = _text(admin_client.get("/admin/"))
    assert 'action="/i18n/setlang/"' in html and "简体中文" in html


def _po_entries():
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        mid = re.search(r'^msgid ((?:".*"\n)+)', block + "\n", re.M)
        mstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block + "\n", re.M)
        if not mid or not mstr or block.lstrip().startswith("#~") or "msgctxt" in block:
            continue
        def join(chunk):
            return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', chunk)).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        entries[join(mid.group(1))] = join(mstr.group(1))
    return {k: v for k, v in entries.items() if k and v}


def test_the_compiled_catalogue_is_current():
    """The committed .mo (served where msgfmt is not installed) holds every translation of the
    .po: after editing the .po, run `make messages` and commit both."""
    with open(LOCALE / "django.mo", "rb") as f:
        mo = gettext.GNUTranslations(f)
    entries = _po_entries()
    assert len(entries) > 400
    stale = [k for k, v in entries.items() if mo.gettext(k) != v and mo.ngettext(k, k, 1) != v]
    assert not stale, f"django.mo is stale for {stale[:5]}: run `make messages`"


def test_the_glossary_words_are_as_designed():
    entries = _po_entries()
    glossary = {
        "USCC": "统一社会信用代码", "credit line": "授信额度", "classification": "五级分类",
        "related party": "关联方", "Committee": "贷审会", "tier": "等级", "Post-loan actions": "贷后措施",
    }
    for english, chinese in glossary.items():
        assert entries[english] == chinese, english


def test_every_model_word_is_listed_for_makemessages():
    """config/backoffice/model_words.py lists the models' and fields' names; after a model
    change run `manage.py backoffice_words`, then makemessages and translate."""
    listed = set(re.findall(r"^    _\((.+)\),$", model_i18n.WORDS_FILE.read_text(encoding="utf-8"), re.M))
    import ast

    listed = {ast.literal_eval(w) for w in listed}
    missing = set(model_i18n.declared_words()) - listed
    assert not missing, f"run `manage.py backoffice_words`: {sorted(missing)[:10]}"


@pytest.mark.django_db
def test_migrations_do_not_see_the_translated_names(capsys):
    call_command("makemigrations", "--check", "--dry-run", verbosity=1)  # exits non-zero on changes
    assert "No changes detected" in capsys.readouterr().out


@pytest.mark.django_db
def test_choice_labels_follow_the_interface_language(world, admin_client):
    """Statuses, kinds and the five categories read in Chinese in the Chinese interface: in a
    list, its filters, a record's page and the underwriting view."""
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    listing = _text(admin_client.get("/admin/loans/loanapplication/", **zh))
    assert "提交贷审会" in listing  # the referred application's status, in the column and the filter
    assert "Referred to committee" not in listing
    loans = _text(admin_client.get("/admin/loans/loan/", **zh))
    assert "正常" in loans and "Normal" not in loans  # five categories
    page = _text(admin_client.get(reverse("backoffice:application", args=[world["referred"].pk]), **zh))
    assert "提交贷审会" in page
    actions = _text(admin_client.get("/admin/monitoring/postloanaction/", **zh))
    assert "降额" in actions and "已提议" in actions  # kind and status of the proposed limit cut
    english = _text(admin_client.get("/admin/loans/loanapplication/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Referred to committee" in english and "提交贷审会" not in english


def test_every_choice_label_is_translated():
    """Every choice of the project's models reads in Chinese in the Chinese interface (from
    the catalogue, or a library's own), and no label mixes the two languages."""
    from django.db import models as dj_models
    from django.utils import translation

    labels = [
        label
        for app_config in model_i18n.project_app_configs()
        for model in app_config.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, dj_models.Field) and field.choices
        for _value, label in field.flatchoices
    ]
    # words to translate: not the tiers ("A (≥ 750)") nor the webhook event names ("loan.overdue")
    words = {label for label in labels if re.search("[a-z]{2}", str(label)) and "." not in str(label)}
    assert len(words) > 100
    assert not CJK.search("".join(str(w) for w in words)), "a choice label mixes languages: put the Chinese in the catalogue"
    with translation.override("zh-hans"):
        missing = sorted({str(w) for w in words if not CJK.search(str(w))})
    assert not missing, missing[:20]
