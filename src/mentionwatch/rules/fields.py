"""The field tests of the search language (`author:`, `platform:`, `account:`, `kind:`,
`lang:`): one bit each, worked out once per author, kind and language on one account."""

from __future__ import annotations

from mentionwatch.rules.parse import fold

# `kind:mention` means anything that addresses the account, as `list` shows them.
_ADDRESSING = ("mention", "reply", "quote")


def fields_of(
    fields: dict[tuple[str, str], int],
    author: str,
    platform: str,
    account: str,
    kind: str,
    lang: str,
) -> int:
    """The bits of the tests in `fields` ((name, value) -> bit) that a mention passes."""
    fa = 0
    au = fold(author.lstrip("@")) if any(n == "author" for n, _ in fields) else ""
    for (name, value), bit in fields.items():
        if name == "author":
            ok = au == value
        elif name == "platform":
            ok = platform == value
        elif name == "account":
            ok = account.casefold() == value
        elif name == "kind":
            ok = kind in _ADDRESSING if value == "mention" else kind == value
        else:
            lg = lang.lower()
            ok = lg == value or lg.startswith(value + "-")
        if ok:
            fa |= bit
    return fa


class FieldBits(dict[tuple[str, str, str], int]):
    """(author, kind, lang) -> field bits, shifted above a mention's signal bits, on one
    platform and account."""

    def __init__(
        self, fields: dict[tuple[str, str], int], shift: int, platform: str, account: str
    ) -> None:
        super().__init__()
        self.fields, self.shift, self.platform, self.account = fields, shift, platform, account

    def __missing__(self, key: tuple[str, str, str]) -> int:
        author, kind, lang = key
        fa = fields_of(self.fields, author, self.platform, self.account, kind, lang)
        found = self[key] = fa << self.shift
        return found
