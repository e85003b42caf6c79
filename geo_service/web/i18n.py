"""The pages' two languages: Chinese (the default) and English, chosen by a switch that a
cookie remembers.

Template text has English message ids; ``locale/zh/LC_MESSAGES/messages.po`` holds the
Chinese. The catalog is read with Babel when first needed and compiled in memory, so there
is no build step. Labels of fields and coded values do not come from here but from the
field catalog (:attr:`layers.schema.FieldSpec.labels`), one table for every page.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
DEFAULT: Lang = "zh"
COOKIE = "gs_lang"
CATALOGS = Path(__file__).with_name("locale")
SHANGHAI = ZoneInfo("Asia/Shanghai")
"""Times are shown in the zone's time, and the pages say so."""
_LOCALES: dict[Lang, str] = {"zh": "zh_Hans_CN", "en": "en"}


def N_(message: str) -> str:  # noqa: N802  # gettext's name for a marker
    """Marks an English message id written in Python (a link's label, a card's title) for
    extraction; the template translates it where it is shown."""
    return message


def choose(asked: str | None, remembered: str | None) -> Lang:
    """The page's language: the one asked for (``?lang=``), else the cookie's, else
    Chinese."""
    for lang in (asked, remembered):
        if lang in LANGS:
            return lang
    return DEFAULT


def catalog_path(lang: Lang) -> Path:
    return CATALOGS / lang / "LC_MESSAGES" / "messages.po"


@cache
def translations(lang: Lang) -> NullTranslations:
    """The compiled catalog of ``lang``; English needs none (its ids are English)."""
    path = catalog_path(lang)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=_LOCALES[lang])
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def locale(lang: Lang) -> Locale:
    return Locale.parse(_LOCALES[lang])


def number(value: float | int | None, lang: Lang, *, digits: int = 2) -> str:
    """A number as the language writes it, rounded to ``digits`` decimals (no trailing
    zeros): ``12345.6 → 12,345.6``; nothing for a missing value."""
    if value is None or value != value:  # None or NaN
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(round(value, digits), format=pattern, locale=locale(lang))


def when(moment: dt.datetime, lang: Lang) -> str:
    """A moment in Asia/Shanghai (naive moments are UTC, as the store keeps them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(SHANGHAI)
    return format_datetime(local, "yyyy-MM-dd HH:mm", locale=locale(lang))


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """The language's half of a (zh, en) label."""
    return pair[0] if lang == "zh" else pair[1]
