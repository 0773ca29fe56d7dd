"""Enumerations of the loan domain.  Values are stored; labels are what officers read."""

from django.db import models


class Industry(models.TextChoices):
    """GB/T 4754-2017 sections (门类)."""

    A = "A", "A 农、林、牧、渔业 Agriculture, forestry, animal husbandry, fishery"
    B = "B", "B 采矿业 Mining"
    C = "C", "C 制造业 Manufacturing"
    D = "D", "D 电力、热力、燃气及水生产和供应业 Utilities"
    E = "E", "E 建筑业 Construction"
    F = "F", "F 批发和零售业 Wholesale and retail"
    G = "G", "G 交通运输、仓储和邮政业 Transport, storage and post"
    H = "H", "H 住宿和餐饮业 Accommodation and catering"
    I = "I", "I 信息传输、软件和信息技术服务业 Information technology"  # noqa: E741
    J = "J", "J 金融业 Finance"
    K = "K", "K 房地产业 Real estate"
    L = "L", "L 租赁和商务服务业 Leasing and business services"
    M = "M", "M 科学研究和技术服务业 Research and technical services"
    N = "N", "N 水利、环境和公共设施管理业 Water, environment and public facilities"
    O = "O", "O 居民服务、修理和其他服务业 Resident and repair services"  # noqa: E741
    P = "P", "P 教育 Education"
    Q = "Q", "Q 卫生和社会工作 Health and social work"
    R = "R", "R 文化、体育和娱乐业 Culture, sports and entertainment"
    S = "S", "S 公共管理、社会保障和社会组织 Public administration"
    T = "T", "T 国际组织 International organisations"


class Province(models.TextChoices):
    """Provincial-level divisions by their GB/T 2260 two-digit code."""

    BJ = "11", "北京 Beijing"
    TJ = "12", "天津 Tianjin"
    HE = "13", "河北 Hebei"
    SX = "14", "山西 Shanxi"
    NM = "15", "内蒙古 Inner Mongolia"
    LN = "21", "辽宁 Liaoning"
    JL = "22", "吉林 Jilin"
    HL = "23", "黑龙江 Heilongjiang"
    SH = "31", "上海 Shanghai"
    JS = "32", "江苏 Jiangsu"
    ZJ = "33", "浙江 Zhejiang"
    AH = "34", "安徽 Anhui"
    FJ = "35", "福建 Fujian"
    JX = "36", "江西 Jiangxi"
    SD = "37", "山东 Shandong"
    HA = "41", "河南 Henan"
    HB = "42", "湖北 Hubei"
    HN = "43", "湖南 Hunan"
    GD = "44", "广东 Guangdong"
    GX = "45", "广西 Guangxi"
    HI = "46", "海南 Hainan"
    CQ = "50", "重庆 Chongqing"
    SC = "51", "四川 Sichuan"
    GZ = "52", "贵州 Guizhou"
    YN = "53", "云南 Yunnan"
    XZ = "54", "西藏 Tibet"
    SN = "61", "陕西 Shaanxi"
    GS = "62", "甘肃 Gansu"
    QH = "63", "青海 Qinghai"
    NX = "64", "宁夏 Ningxia"
    XJ = "65", "新疆 Xinjiang"


class CompanyStatus(models.TextChoices):
    ACTIVE = "active", "Active 存续"
    SUSPENDED = "suspended", "Suspended 停业"
    DEREGISTERED = "deregistered", "Deregistered 注销"


class Role(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", "Legal representative 法定代表人"
    ACTUAL_CONTROLLER = "actual_controller", "Actual controller 实际控制人"
    SHAREHOLDER = "shareholder", "Shareholder 股东"
    DIRECTOR = "director", "Director 董事"
    GUARANTOR = "guarantor", "Guarantor 担保人"


class ProductKind(models.TextChoices):
    REVOLVING = "revolving", "Revolving credit line 循环授信"
    TERM = "term", "Term loan 定期贷款"


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", "Equal installment 等额本息"
    EQUAL_PRINCIPAL = "equal_principal", "Equal principal 等额本金"
    INTEREST_FIRST = "interest_first", "Interest first 先息后本"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    REFERRED = "referred", "Referred to committee"
    COMMITTEE_APPROVED = "committee_approved", "Approved by committee"
    COMMITTEE_DECLINED = "committee_declined", "Declined by committee"
    ACCEPTED = "accepted", "Accepted by borrower"
    BOOKED = "booked", "Booked"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FROZEN = "frozen", "Frozen"
    CLOSED = "closed", "Closed"


class LoanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REPAID = "repaid", "Repaid"
    WRITTEN_OFF = "written_off", "Written off"


class Bucket(models.TextChoices):
    CURRENT = "current", "Current"
    M1 = "m1", "M1 (1–30 DPD)"
    M2 = "m2", "M2 (31–60 DPD)"
    M3 = "m3", "M3 (61–90 DPD)"
    M3_PLUS = "m3_plus", "M3+ (>90 DPD)"


class Classification(models.TextChoices):
    """The five regulatory loan categories (贷款五级分类)."""

    NORMAL = "normal", "Normal 正常"
    SPECIAL_MENTION = "special_mention", "Special mention 关注"
    SUBSTANDARD = "substandard", "Substandard 次级"
    DOUBTFUL = "doubtful", "Doubtful 可疑"
    LOSS = "loss", "Loss 损失"


class CollateralKind(models.TextChoices):
    REAL_ESTATE = "real_estate", "Real estate 不动产"
    EQUIPMENT = "equipment", "Equipment 设备"
    VEHICLE = "vehicle", "Vehicle 车辆"
    RECEIVABLES = "receivables", "Receivables 应收账款"
    INVENTORY = "inventory", "Inventory 存货"
    DEPOSIT = "deposit", "Deposit 存单"
    EQUITY = "equity", "Equity 股权"
    OTHER = "other", "Other 其他"


class SecurityStatus(models.TextChoices):
    PLEDGED = "pledged", "Pledged"
    RELEASED = "released", "Released"
