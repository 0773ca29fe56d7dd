"""Reason codes: stable codes with English and Chinese texts, one per characteristic.

A code never changes meaning once published (decisions and letters quote it); add new codes,
never renumber.  Characteristics of models trained on external data sets (``--csv``) get a
generic code ``X:<column>``.
"""

from __future__ import annotations

REASONS: dict[str, tuple[str, str, str]] = {
    # feature name: (code, English, Chinese)
    # --- person
    "credit_history_months": ("P01", "Short credit history", "信用历史较短"),
    "ontime_ratio_24m": ("P02", "Low share of on-time repayments in the last 24 months", "近24个月按时还款比例偏低"),
    "worst_dpd_24m": ("P03", "Serious past-due payments in the last 24 months", "近24个月有较严重逾期"),
    "defaults_60m": ("P04", "Defaults in the last 60 months", "近60个月有违约记录"),
    "online_payment_volume_12m": ("P05", "Low online payment activity", "线上支付活跃度低"),
    "payment_regularity": ("P06", "Irregular recurring payments", "固定缴费不规律"),
    "spending_stability": ("P07", "Unstable spending pattern", "消费不稳定"),
    "debt_to_income": ("P08", "High debt relative to income", "负债收入比偏高"),
    "monthly_income": ("P09", "Low or unverified income", "收入偏低或未核实"),
    "verification_level": ("P10", "Incomplete identity verification", "身份核验不完整"),
    "education_level": ("P11", "Education level", "学历水平"),
    "address_tenure_months": ("P12", "Short time at current address", "现住址居住时间较短"),
    "phone_tenure_months": ("P13", "Mobile number in use for a short time", "手机号使用时间较短"),
    "connections_with_defaults": ("P14", "Close connections in default", "关系人中有违约"),
    "connections_avg_score": ("P15", "Low average score of close connections", "关系人平均信用分偏低"),
    # --- company
    "revenue_12m": ("C01", "Low revenue in the last 12 months", "近12个月营业收入偏低"),
    "tax_paid_12m": ("C02", "Low tax paid in the last 12 months", "近12个月纳税额偏低"),
    "invoice_count_12m": ("C03", "Few invoices issued in the last 12 months", "近12个月开票量偏少"),
    "revenue_trend": ("C04", "Declining revenue", "营业收入下滑"),
    "cashflow_volatility": ("C05", "Volatile cash flow", "现金流波动较大"),
    "customer_concentration": ("C06", "Revenue concentrated on few customers", "客户集中度高"),
    "overdue_payables_ratio": ("C07", "Overdue payables", "存在逾期应付款"),
    "lawsuits_24m": ("C08", "Lawsuits in the last 24 months", "近24个月涉诉"),
    "admin_penalties_24m": ("C09", "Administrative penalties in the last 24 months", "近24个月有行政处罚"),
    "years_in_business": ("C10", "Short time in business", "经营年限较短"),
}

# Reasons that come from the company composite rather than a characteristic.
COMPOSITE_REASONS: dict[str, tuple[str, str, str]] = {
    "related_party_in_default": ("R01", "A related party is in default", "关联人存在违约"),
    "related_parties_low": ("R02", "Low credit scores of related parties", "关联人信用分偏低"),
}

_BY_CODE: dict[str, tuple[str, str]] = {
    code: (en, zh) for code, en, zh in list(REASONS.values()) + list(COMPOSITE_REASONS.values())
}


def code_for(feature_name: str) -> str:
    entry = REASONS.get(feature_name)
    return entry[0] if entry else f"X:{feature_name}"


def texts_for(code: str) -> tuple[str, str]:
    """(English, Chinese) text of a code; generic codes name their column."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if code.startswith("X:"):
        column = code[2:]
        return (f"Value of {column}", f"{column} 取值")
    return (code, code)
