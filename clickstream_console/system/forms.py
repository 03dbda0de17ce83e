"""Reading the System pages' forms. Every problem is named by its field (``email: required``); the
page shows it next to that field and answers 400, with nothing changed."""

from __future__ import annotations

import re
from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from clickstream_console.identity.roles import Role

# Control characters have no place in names or settings, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FormError(ValueError):
    """The problems of a submitted form, by field name."""

    def __init__(self, problems: Mapping[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems.items()))

    @classmethod
    def of(cls, error: ValueError) -> FormError:
        """From a ``"field: message"`` error of the identity code (AccountError, RoleMapping)."""
        field, _, message = str(error).partition(": ")
        return cls({field: message})


def text_field(form: MultiDict[str, str], name: str, *, max_chars: int) -> str:
    """A one-line text field, trimmed; empty when absent."""
    value = form.get(name, "").strip()
    if len(value) > max_chars:
        raise FormError({name: f"at most {max_chars} characters"})
    if _CONTROL.search(value):
        raise FormError({name: "control characters (line breaks, tabs, NUL) are not allowed"})
    return value


def roles_field(form: MultiDict[str, str], name: str = "roles") -> frozenset[Role]:
    """The ticked role checkboxes."""
    values = form.getlist(name)
    unknown = sorted({value for value in values if value not in {role.value for role in Role}})
    if unknown:
        raise FormError({name: f"unknown roles {unknown}; expected some of {[role.value for role in Role]}"})
    return frozenset(Role(value) for value in values)


def choice_field(form: MultiDict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``; the first when the field is absent."""
    value = form.get(name, choices[0])
    if value not in choices:
        raise FormError({name: f"expected one of {list(choices)}"})
    return value
