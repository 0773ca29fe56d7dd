"""Enumerations of the borrower files.  Values are stored; labels are what officers read.

``loans.choices`` re-exports them beside the loan domain's own."""

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
