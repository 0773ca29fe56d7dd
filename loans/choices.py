"""Enumerations of the loan domain.  Values are stored; labels are what officers read."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Industry(models.TextChoices):
    """GB/T 4754-2017 sections (门类)."""

    A = "A", _("A Agriculture, forestry, animal husbandry, fishery")
    B = "B", _("B Mining")
    C = "C", _("C Manufacturing")
    D = "D", _("D Utilities")
    E = "E", _("E Construction")
    F = "F", _("F Wholesale and retail")
    G = "G", _("G Transport, storage and post")
    H = "H", _("H Accommodation and catering")
    I = "I", _("I Information technology")  # noqa: E741
    J = "J", _("J Finance")
    K = "K", _("K Real estate")
    L = "L", _("L Leasing and business services")
    M = "M", _("M Research and technical services")
    N = "N", _("N Water, environment and public facilities")
    O = "O", _("O Resident and repair services")  # noqa: E741
    P = "P", _("P Education")
    Q = "Q", _("Q Health and social work")
    R = "R", _("R Culture, sports and entertainment")
    S = "S", _("S Public administration")
    T = "T", _("T International organisations")


class Province(models.TextChoices):
    """Provincial-level divisions by their GB/T 2260 two-digit code."""

    BJ = "11", _("Beijing")
    TJ = "12", _("Tianjin")
    HE = "13", _("Hebei")
    SX = "14", _("Shanxi")
    NM = "15", _("Inner Mongolia")
    LN = "21", _("Liaoning")
    JL = "22", _("Jilin")
    HL = "23", _("Heilongjiang")
    SH = "31", _("Shanghai")
    JS = "32", _("Jiangsu")
    ZJ = "33", _("Zhejiang")
    AH = "34", _("Anhui")
    FJ = "35", _("Fujian")
    JX = "36", _("Jiangxi")
    SD = "37", _("Shandong")
    HA = "41", _("Henan")
    HB = "42", _("Hubei")
    HN = "43", _("Hunan")
    GD = "44", _("Guangdong")
    GX = "45", _("Guangxi")
    HI = "46", _("Hainan")
    CQ = "50", _("Chongqing")
    SC = "51", _("Sichuan")
    GZ = "52", _("Guizhou")
    YN = "53", _("Yunnan")
    XZ = "54", _("Tibet")
    SN = "61", _("Shaanxi")
    GS = "62", _("Gansu")
    QH = "63", _("Qinghai")
    NX = "64", _("Ningxia")
    XJ = "65", _("Xinjiang")


class CompanyStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("company status", "Active")
    SUSPENDED = "suspended", _("Suspended")
    DEREGISTERED = "deregistered", _("Deregistered")


class Role(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
    ACTUAL_CONTROLLER = "actual_controller", _("Actual controller")
    SHAREHOLDER = "shareholder", _("Shareholder")
    DIRECTOR = "director", _("Director")
    GUARANTOR = "guarantor", _("Guarantor")


class ProductKind(models.TextChoices):
    REVOLVING = "revolving", _("Revolving credit line")
    TERM = "term", _("Term loan")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installment")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_FIRST = "interest_first", _("Interest first")


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    REFERRED = "referred", _("Referred to committee")
    COMMITTEE_APPROVED = "committee_approved", _("Approved by committee")
    COMMITTEE_DECLINED = "committee_declined", _("Declined by committee")
    ACCEPTED = "accepted", _("Accepted by borrower")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REPAID = "repaid", _("Repaid")
    WRITTEN_OFF = "written_off", _("Written off")


class Bucket(models.TextChoices):
    CURRENT = "current", _("Current")
    M1 = "m1", _("M1 (1–30 DPD)")
    M2 = "m2", _("M2 (31–60 DPD)")
    M3 = "m3", _("M3 (61–90 DPD)")
    M3_PLUS = "m3_plus", _("M3+ (>90 DPD)")


class Classification(models.TextChoices):
    """The five regulatory loan categories (贷款五级分类)."""

    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


class CollateralKind(models.TextChoices):
    REAL_ESTATE = "real_estate", _("Real estate")
    EQUIPMENT = "equipment", _("Equipment")
    VEHICLE = "vehicle", _("Vehicle")
    RECEIVABLES = "receivables", _("Receivables")
    INVENTORY = "inventory", _("Inventory")
    DEPOSIT = "deposit", _("Deposit")
    EQUITY = "equity", _("Equity")
    OTHER = "other", _("Other")


class SecurityStatus(models.TextChoices):
    PLEDGED = "pledged", _("Pledged")
    RELEASED = "released", _("Released")
