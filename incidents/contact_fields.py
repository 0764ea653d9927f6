"""Reading affected customers from what people type, paste or export from Excel.

One validator for every way in (the form, a pasted list, a CSV file, the API), so the same
customer is accepted or refused the same way. Files are decoded from UTF-8 (with or without
a BOM) or GBK/GB18030, the encodings Chinese teams' spreadsheets export.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidents.errors import InvalidInput
from incidents.outreach_models import Demand, Platform

NAME_MAX = 100
HANDLE_MAX = 200
TEXT_MAX = 2000
ORDER_MAX = 64
ORDERS_MAX = 20
ROWS_MAX = 10_000
FIELDS = ("name", "platform", "handle", "order_numbers", "activity", "demand", "notes")

# Column headings people use, in Chinese and English, for each field.
HEADINGS = {
    "name": ("name", "nickname", "customer", "姓名", "昵称", "客户", "客户姓名", "客户昵称", "姓名/昵称"),
    "platform": ("platform", "channel", "平台", "渠道", "联系渠道"),
    "handle": ("handle", "contact", "phone", "email", "联系方式", "账号", "手机", "手机号", "电话", "邮箱"),
    "order_numbers": ("order_numbers", "orders", "order", "订单号", "订单", "订单编号"),
    "activity": ("activity", "doing", "当时在做什么", "场景", "当时操作", "购买环节"),
    "demand": ("demand", "诉求", "客户诉求"),
    "notes": ("notes", "note", "备注"),
}
# What people write for a platform or a demand, in either language.
PLATFORM_WORDS = {
    **{p.value: p for p in Platform},
    "电话": Platform.PHONE, "手机": Platform.PHONE, "tel": Platform.PHONE,
    "短信": Platform.SMS, "邮箱": Platform.EMAIL, "邮件": Platform.EMAIL, "e-mail": Platform.EMAIL,
    "mail": Platform.EMAIL, "微信": Platform.WECHAT, "抖音": Platform.DOUYIN, "微博": Platform.WEIBO,
    "小红书": Platform.XIAOHONGSHU, "电商平台": Platform.MARKETPLACE, "店铺": Platform.MARKETPLACE,
    "淘宝": Platform.MARKETPLACE, "天猫": Platform.MARKETPLACE, "京东": Platform.MARKETPLACE,
    "拼多多": Platform.MARKETPLACE, "其他": Platform.OTHER, "其它": Platform.OTHER,
}
DEMAND_WORDS = {
    **{d.value: d for d in Demand},
    "退货": Demand.RETURN, "退款": Demand.RETURN, "换货": Demand.EXCHANGE, "补偿": Demand.COMPENSATION,
    "赔偿": Demand.COMPENSATION, "道歉": Demand.APOLOGY, "解释": Demand.EXPLANATION, "说明": Demand.EXPLANATION,
}
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,22}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ORDER_SPLIT = re.compile(r"[\s,，;；、/]+")


def _text(raw: Mapping[str, Any], key: str, max_length: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(key, f"{key} must be text", reason="invalid")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(key, f"{key} is longer than {max_length} characters", reason="too_long", max=max_length)
    return value


def guess_platform(handle: str) -> Platform:
    """A handle's platform when none is given: digits are a phone, an address an e-mail."""
    if PHONE.match(handle):
        return Platform.PHONE
    if EMAIL.match(handle):
        return Platform.EMAIL
    return Platform.OTHER


def parse_platform(value: Any, handle: str, key: str = "platform") -> Platform:
    if value is None or (isinstance(value, str) and not value.strip()):
        return guess_platform(handle)
    word = str(value).strip().lower()
    if word not in PLATFORM_WORDS:
        raise InvalidInput(key, f"unknown platform {value!r}", reason="unknown_platform", value=str(value)[:40])
    return PLATFORM_WORDS[word]


def parse_demand(value: Any) -> Demand | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    word = str(value).strip().lower()
    if word not in DEMAND_WORDS:
        raise InvalidInput("demand", f"unknown demand {value!r}", reason="unknown_demand", value=str(value)[:40])
    return DEMAND_WORDS[word]


def parse_orders(value: Any) -> list[str]:
    """Order numbers from a list or from text separated by commas, spaces or 、."""
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = ORDER_SPLIT.split(value)
    else:
        raise InvalidInput("order_numbers", "order_numbers must be text or a list", reason="invalid")
    orders: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput("order_numbers", "order numbers must be text", reason="invalid")
        item = item.strip()
        if not item:
            continue
        if len(item) > ORDER_MAX:
            raise InvalidInput("order_numbers", "an order number is too long", reason="too_long", max=ORDER_MAX)
        if item not in orders:
            orders.append(item)
    if len(orders) > ORDERS_MAX:
        raise InvalidInput("order_numbers", f"at most {ORDERS_MAX} order numbers", reason="too_many_orders",
                           max=ORDERS_MAX)
    return orders


def clean_contact(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one customer's fields; InvalidInput names the first field at fault."""
    name = _text(raw, "name", NAME_MAX)
    handle = _text(raw, "handle", HANDLE_MAX)
    if not name and not handle:
        raise InvalidInput("name", "give a name or nickname, or a handle", reason="name_or_handle")
    platform = parse_platform(raw.get("platform"), handle)
    if handle and platform in (Platform.PHONE, Platform.SMS) and not PHONE.match(handle):
        raise InvalidInput("handle", "not a phone number", reason="bad_phone")
    if handle and platform == Platform.EMAIL and not EMAIL.match(handle):
        raise InvalidInput("handle", "not an e-mail address", reason="bad_email")
    return {
        "name": name or handle[:NAME_MAX],
        "platform": platform,
        "handle": handle,
        "order_numbers": parse_orders(raw.get("order_numbers")),
        "activity": _text(raw, "activity", TEXT_MAX),
        "demand": parse_demand(raw.get("demand")),
        "notes": _text(raw, "notes", TEXT_MAX),
    }


def identity(fields: Mapping[str, Any]) -> tuple[str, str] | None:
    """What makes two entries the same customer: platform and handle (no handle: never a duplicate)."""
    handle = fields["handle"]
    if not handle:
        return None
    platform = Platform(fields["platform"])
    if platform in (Platform.PHONE, Platform.SMS):
        return ("phone", re.sub(r"[^0-9+]", "", handle))
    return (platform.value, handle.lower())


@dataclass
class RowError:
    row: int  # the line people see in their spreadsheet (header is 1)
    error: InvalidInput


@dataclass
class ParsedRows:
    """A file or a pasted list read row by row: the good rows, the bad ones and why."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)


def decode(data: bytes) -> str:
    """A spreadsheet export as text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput("file", "the file is neither UTF-8 nor GBK text", reason="bad_encoding") from None


def _delimiter(first_line: str) -> str:
    return "\t" if "\t" in first_line and "," not in first_line else ","


def _column(heading: str) -> str | None:
    word = heading.strip().lower().lstrip("\ufeff")
    for key, names in HEADINGS.items():
        if word in names:
            return key
    return None


def read_csv(text: str) -> ParsedRows:
    """Rows of a CSV export with a heading row; unknown columns are ignored (and reported)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("file", "the file is empty", reason="empty_file")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        headings = next(reader)
    except csv.Error:
        raise InvalidInput("file", "the file is not CSV", reason="not_csv") from None
    columns = [_column(h) for h in headings]
    if "name" not in columns and "handle" not in columns:
        raise InvalidInput("file", "the file needs a name or a handle column", reason="missing_columns",
                           columns="姓名/name, 联系方式/handle")
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise InvalidInput("file", f"column {repeated[0]} appears twice", reason="repeated_column",
                           column=repeated[0])
    parsed = ParsedRows(ignored_columns=[h for h, c in zip(headings, columns, strict=True) if c is None and h.strip()])
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if parsed.total >= ROWS_MAX:
                raise InvalidInput("file", f"at most {ROWS_MAX} rows per file", reason="too_many_rows", max=ROWS_MAX)
            raw = {key: cells[i] for i, key in enumerate(columns) if key and i < len(cells)}
            _add_row(parsed, number, raw)
    except csv.Error as error:
        raise InvalidInput("file", f"the file is not valid CSV: {error}", reason="not_csv") from None
    return parsed


PASTE_ORDER = ("name", "handle", "platform", "order_numbers", "demand", "notes")


def read_pasted(text: str) -> ParsedRows:
    """A pasted list: one customer a line, name, handle, then optionally platform, orders,
    demand and notes, separated by tabs (cells copied from Excel) or commas."""
    parsed = ParsedRows()
    lines = (text or "").splitlines()
    if not any(line.strip() for line in lines):
        raise InvalidInput("text", "paste at least one customer", reason="required")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if parsed.total >= ROWS_MAX:
            raise InvalidInput("text", f"at most {ROWS_MAX} lines", reason="too_many_rows", max=ROWS_MAX)
        cells = [c.strip() for c in (line.split("\t") if "\t" in line else re.split(r"[,，]", line))]
        if len(cells) == 1 and (PHONE.match(cells[0]) or EMAIL.match(cells[0])):
            cells = ["", cells[0]]
        raw = dict(zip(PASTE_ORDER, cells, strict=False))
        _add_row(parsed, number, raw)
    return parsed


def _add_row(parsed: ParsedRows, number: int, raw: dict[str, Any]) -> None:
    try:
        parsed.rows.append((number, clean_contact(raw)))
    except InvalidInput as error:
        parsed.errors.append(RowError(row=number, error=error))


def mark_duplicates(parsed: ParsedRows, existing: set[tuple[str, str]]) -> None:
    """Move rows naming a customer already listed, or listed earlier in the same file, to the errors."""
    seen: dict[tuple[str, str], int] = {}
    kept = []
    for number, fields in parsed.rows:
        key = identity(fields)
        if key is not None and key in existing:
            parsed.errors.append(RowError(number, InvalidInput("handle", "already on the list",
                                                               reason="duplicate_contact")))
        elif key is not None and key in seen:
            parsed.errors.append(RowError(number, InvalidInput("handle", f"same customer as row {seen[key]}",
                                                               reason="duplicate_row", row=seen[key])))
        else:
            if key is not None:
                seen[key] = number
            kept.append((number, fields))
    parsed.rows = kept
    parsed.errors.sort(key=lambda e: e.row)
