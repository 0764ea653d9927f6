"""Human names for the outreach area's values, and its error reasons, in the reader's language."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from console.notices import not_done

from incidents.outreach_models import AttemptResult, CompensationState, Demand, OfferKind, Platform

class ByValue(dict):
    """Labels keyed by enum member that also answer to the stored string (timeline data keeps strings)."""

    def __missing__(self, key: object) -> object:
        for member, label in self.items():
            if member.value == key:
                return label
        raise KeyError(key)

    def get(self, key: object, default: object = None) -> object:
        try:
            return self[key]
        except KeyError:
            return default


PLATFORM_NAMES = ByValue({
    Platform.PHONE: _l("Phone"),
    Platform.SMS: _l("SMS"),
    Platform.EMAIL: _l("E-mail"),
    Platform.WECHAT: _l("WeChat"),
    Platform.DOUYIN: _l("Douyin DM"),
    Platform.WEIBO: _l("Weibo DM"),
    Platform.XIAOHONGSHU: _l("Xiaohongshu DM"),
    Platform.MARKETPLACE: _l("Marketplace chat"),
    Platform.OTHER: _l("Other"),
})
DEMAND_NAMES = ByValue({
    Demand.RETURN: _l("Return"),
    Demand.EXCHANGE: _l("Exchange"),
    Demand.COMPENSATION: _l("Compensation"),
    Demand.APOLOGY: _l("Apology"),
    Demand.EXPLANATION: _l("Explanation"),
})
RESULT_NAMES = ByValue({
    AttemptResult.REACHED: _l("Reached"),
    AttemptResult.NO_ANSWER: _l("No answer"),
    AttemptResult.REFUSED: _l("Refused to talk"),
    AttemptResult.RESOLVED: _l("Resolved"),
})
OFFER_NAMES = ByValue({
    OfferKind.VOUCHER: _l("Voucher"),
    OfferKind.DISCOUNT: _l("Discount"),
    OfferKind.EXTENDED_WARRANTY: _l("Extended warranty"),
    OfferKind.REFUND: _l("Refund"),
    OfferKind.RESHIPMENT: _l("Reshipment"),
    OfferKind.APOLOGY_ONLY: _l("Apology only"),
})
COMPENSATION_NAMES = ByValue({
    CompensationState.OFFERED: _l("Offered"),
    CompensationState.ACCEPTED: _l("Accepted"),
    CompensationState.DECLINED: _l("Declined"),
    CompensationState.DELIVERED: _l("Delivered"),
    CompensationState.CONFIRMED: _l("Receipt confirmed"),
})
# The button that moves a compensation to each state.
COMPENSATION_ACTIONS = {
    CompensationState.ACCEPTED: _l("Customer accepted"),
    CompensationState.DECLINED: _l("Customer declined"),
    CompensationState.DELIVERED: _l("Mark delivered"),
    CompensationState.CONFIRMED: _l("Customer confirmed receipt"),
}
ORIGIN_NAMES = {
    "manual": _l("added by hand"),
    "paste": _l("pasted list"),
    "csv": _l("CSV import"),
    "monitor": _l("the poster of the raising mention"),
    "api": _l("through the API"),
}
# The customer's fields, as the timeline names what an edit changed.
FIELD_NAMES = {
    "name": _l("Name or nickname"),
    "platform": _l("Platform"),
    "handle": _l("Handle (phone, e-mail, account)"),
    "order_numbers": _l("Order numbers"),
    "activity": _l("What were they doing when it happened?"),
    "demand": _l("Demand"),
    "notes": _l("Notes"),
}
REASONS = {
    "contact_has_outreach": _l("Outreach is logged for this customer, so they stay on the list for the record."),
    "name_or_handle": _l("Give a name or nickname, or a handle."),
    "bad_phone": _l("This is not a phone number."),
    "unknown_platform": _l("Unknown platform “%(value)s”."),
    "unknown_demand": _l("Unknown demand “%(value)s”."),
    "too_many_orders": _l("At most %(max)s order numbers."),
    "duplicate_contact": _l("This customer is already on the list."),
    "duplicate_row": _l("Same customer as row %(row)s."),
    "nothing_to_add": _l("There is nobody to add."),
    "rows_with_errors": _l("%(count)s rows have errors. Fix them, or choose to skip them."),
    "bad_encoding": _l("The file is neither UTF-8 nor GBK text. Save it as CSV (UTF-8) and try again."),
    "empty_file": _l("The file is empty."),
    "not_csv": _l("This is not a CSV file."),
    "missing_columns": _l("The file needs a heading row with a name or a handle column (%(columns)s)."),
    "repeated_column": _l("The column “%(column)s” appears twice."),
    "too_many_rows": _l("At most %(max)s customers at a time."),
    "not_a_number": _l("Enter an amount in yuan, e.g. 20 or 19.90."),
    "value_range": _l("Enter an amount between 0 and %(max)s yuan."),
    "value_required": _l("Give the amount in yuan."),
    "value_not_applicable": _l("An apology has no amount."),
    "offer_needs_kind": _l("Choose what was offered."),
    "promise_needs_time": _l("A promise needs a time by which it is kept."),
    "promise_needs_text": _l("Say what was promised."),
    "promise_in_past": _l("The promised time has already passed."),
    "future_attempt": _l("An attempt cannot be logged in the future."),
    "compensation_step": _l("This compensation cannot take that step now."),
}


def done_added(count: int, first: str, *, skipped: int = 0) -> str:
    """What the action area says after customers were added."""
    if skipped:
        return not_done(gettext("Added %(count)s, skipped %(skipped)s bad rows.", count=count, skipped=skipped))
    if count == 1:
        return gettext("Added %(name)s.", name=first)
    return gettext("Added %(count)s customers.", count=count)


def done_edited(name: str, changed: int) -> str:
    """What the action area says after a customer's details were saved."""
    if not changed:
        return not_done(gettext("Nothing changed for %(name)s.", name=name))
    return gettext("Saved %(name)s.", name=name)


def done_removed(name: str) -> str:
    return gettext("Removed %(name)s from the list.", name=name)


def done_attempt(name: str, result: str) -> str:
    """What the action area says after an attempt was logged."""
    return gettext("Logged for %(name)s: %(result)s.", name=name, result=RESULT_NAMES[AttemptResult(result)])
