"""System pages (feature Identity Management): Users, Settings (the role mapping), Audit log.
A refused form answers 400 with each problem next to its field; a change that would leave no
Administrator answers 409; nothing is changed in either case."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from clickstream_console.access import current_viewer, requires
from clickstream_console.audit import recent
from clickstream_console.auth.session import roles_of
from clickstream_console.db.models import AuditEntry, RoleMappingSettings, User
from clickstream_console.identity.accounts import MAX_EMAIL_CHARS, AccountError, normalise_email
from clickstream_console.identity.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, password_problem
from clickstream_console.identity.roles import Feature, Role, may_use
from clickstream_console.identity.store import role_mapping
from clickstream_console.state import console_state, db
from clickstream_console.system import mapping_settings
from clickstream_console.system.forms import FormError, choice_field, roles_field, text_field
from clickstream_console.system.users import LastAdministrator, add_user, all_users, remove_user, roles_of_user, set_roles, use_mapping

blueprint = Blueprint("system", __name__, url_prefix="/system")

MAX_DISPLAY_NAME_CHARS = 200  # the column's width
ROLES_FROM = ("here", "mapping")
AUDIT_PAGE_SIZE = 100
# Beyond any real log; keeps int() and the OFFSET small.
_PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
# The largest id the database's integer column holds: a larger one is no user (404, not an overflow).
_USER = "/users/<int(max=2147483647):user_id>"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def _common() -> dict[str, Any]:
    return {"all_roles": list(Role), "when": _when}


# Users


def _users_page(status: int = 200, problems: dict[str, str] | None = None):
    mapping = role_mapping(db())
    page = render_template(
        "system/users.html",
        users=all_users(db(), mapping),
        problems=problems or {},
        form=request.form if problems else {},
        local_login=console_state().settings.local_login,
        min_password=MIN_PASSWORD_CHARS,
        max_password=MAX_PASSWORD_CHARS,
        max_email=MAX_EMAIL_CHARS,
        max_display_name=MAX_DISPLAY_NAME_CHARS,
        **_common(),
    )
    return page, status


@blueprint.get("/users")
@requires(Feature.IDENTITY_MANAGEMENT)
def users():
    return _users_page()


def _new_user_fields() -> dict[str, Any]:
    """The add-user form's values; every field's problem at once."""
    form, problems, values = request.form, {}, {}
    readers = {
        "email": lambda: normalise_email(form.get("email", "")),
        "display_name": lambda: text_field(form, "display_name", max_chars=MAX_DISPLAY_NAME_CHARS),
        "roles": lambda: roles_field(form),
        "roles_from": lambda: choice_field(form, "roles_from", ROLES_FROM),
    }
    for name, read in readers.items():
        try:
            values[name] = read()
        except (FormError, AccountError) as error:
            problems.update(error.problems if isinstance(error, FormError) else FormError.of(error).problems)
    if values.get("roles_from") == "mapping" and values.get("roles"):
        problems["roles"] = "leave the roles unticked when they come from the identity provider's groups"
    values["password"] = form.get("password") or None
    if values["password"] is not None:
        if not console_state().settings.local_login:
            problems["password"] = "local sign-in is off in this console (console.local_login); users sign in through the identity provider"
        elif problem := password_problem(values["password"]):
            problems["password"] = problem
    if problems:
        raise FormError(problems)
    return values


@blueprint.post("/users")
@requires(Feature.IDENTITY_MANAGEMENT)
def add():
    try:
        values = _new_user_fields()
        user = add_user(
            db(),
            role_mapping(db()),
            email=values["email"],
            display_name=values["display_name"],
            roles=values["roles"],
            roles_from_mapping=values["roles_from"] == "mapping",
            password=values["password"],
        )
        db().commit()
    except FormError as error:
        return _users_page(400, error.problems)
    except AccountError as error:
        db().rollback()
        return _users_page(400, FormError.of(error).problems)
    except IntegrityError:  # the same address added at the same moment by someone else
        db().rollback()
        return _users_page(400, {"email": "a user with this address already exists"})
    flash(f"Added {user.email}.")
    return redirect(url_for("system.user", user_id=user.id))


def _user_or_404(user_id: int) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404, description=f"No user has the id {user_id}.")
    return user


def _user_page(user: User, status: int = 200, problems: dict[str, str] | None = None, refusal: str | None = None):
    mapping = role_mapping(db())
    page = render_template(
        "system/user.html",
        entry=roles_of_user(user, mapping),
        problems=problems or {},
        refusal=refusal,
        json_path=mapping.json_path,
        **_common(),
    )
    return page, status


@blueprint.get(_USER)
@requires(Feature.IDENTITY_MANAGEMENT)
def user(user_id: int):
    return _user_page(_user_or_404(user_id))


def _changed(user: User, message: str):
    """After a change: back to the user's page, or to the console's start when the viewer took
    their own Identity Management away (the page is no longer theirs to see)."""
    flash(message)
    if user.id == current_viewer().user_id and not may_use(roles_of(user), Feature.IDENTITY_MANAGEMENT):
        return redirect(url_for("home.index"))
    return redirect(url_for("system.user", user_id=user.id))


@blueprint.post(f"{_USER}/roles")
@requires(Feature.IDENTITY_MANAGEMENT)
def save_roles(user_id: int):
    user = _user_or_404(user_id)
    try:
        roles = roles_field(request.form)
        set_roles(db(), role_mapping(db()), user, roles, current_viewer().user_id)
        db().commit()
    except FormError as error:
        return _user_page(user, 400, error.problems)
    except LastAdministrator as refusal:
        return _user_page(user, 409, refusal=str(refusal))
    return _changed(user, f"Stored the roles of {user.email}: {', '.join(sorted(roles)) or 'none'}.")


@blueprint.post(f"{_USER}/use-mapping")
@requires(Feature.IDENTITY_MANAGEMENT)
def use_mapping_again(user_id: int):
    user = _user_or_404(user_id)
    try:
        use_mapping(db(), role_mapping(db()), user, current_viewer().user_id)
        db().commit()
    except LastAdministrator as refusal:
        return _user_page(user, 409, refusal=str(refusal))
    return _changed(user, f"The roles of {user.email} come from the role mapping again.")


@blueprint.post(f"{_USER}/remove")
@requires(Feature.IDENTITY_MANAGEMENT)
def remove(user_id: int):
    user = _user_or_404(user_id)
    if request.form.get("confirm") != "yes":
        return _user_page(user, 400, {"confirm": "tick the box to confirm the removal"})
    email = user.email
    try:
        remove_user(db(), role_mapping(db()), user, current_viewer().user_id)
        db().commit()
    except LastAdministrator as refusal:
        return _user_page(user, 409, refusal=str(refusal))
    flash(f"Removed {email}; their sessions have ended.")
    return redirect(url_for("home.index") if user_id == current_viewer().user_id else url_for("system.users"))


# Settings


def _settings_page(status: int = 200, problems: dict[str, str] | None = None, values: dict[str, str] | None = None, trial=None):
    row = db().scalars(select(RoleMappingSettings).limit(1)).first()
    page = render_template(
        "system/settings.html",
        values=values or mapping_settings.form_values(role_mapping(db())),
        sample=request.form.get(mapping_settings.SAMPLE_FIELD, ""),
        problems=problems or {},
        trial=trial,
        saved=row,
        path_field=mapping_settings.PATH_FIELD,
        group_fields=mapping_settings.GROUP_FIELDS,
        sample_field=mapping_settings.SAMPLE_FIELD,
        max_path=mapping_settings.MAX_PATH_CHARS,
        max_groups=mapping_settings.MAX_GROUPS_CHARS,
        max_sample=mapping_settings.MAX_SAMPLE_CHARS,
        pretty=_pretty,
        **_common(),
    )
    return page, status


def _typed_values() -> dict[str, str]:
    fields = [mapping_settings.PATH_FIELD, *mapping_settings.GROUP_FIELDS.values()]
    return {field: request.form.get(field, "") for field in fields}


@blueprint.get("/settings")
@requires(Feature.IDENTITY_MANAGEMENT)
def settings():
    return _settings_page()


@blueprint.post("/settings")
@requires(Feature.IDENTITY_MANAGEMENT)
def save_settings():
    try:
        new = mapping_settings.mapping_from_form(request.form)
        mapping_settings.save_mapping(db(), role_mapping(db()), new)
        db().commit()
    except FormError as error:
        return _settings_page(400, error.problems, _typed_values())
    except LastAdministrator as refusal:
        return _settings_page(409, {mapping_settings.GROUP_FIELDS[Role.ADMINISTRATOR]: str(refusal)}, _typed_values())
    flash("Saved the role mapping; it applies from every user's next request.")
    return redirect(url_for("system.settings"))


@blueprint.post("/settings/test")
@requires(Feature.IDENTITY_MANAGEMENT)
def try_settings():
    """Try the mapping as typed (saved or not) on a pasted ID token; changes nothing."""
    try:
        mapping = mapping_settings.mapping_from_form(request.form)
        trial = mapping_settings.try_mapping(
            mapping, mapping_settings.claims_from_sample(request.form.get(mapping_settings.SAMPLE_FIELD, ""))
        )
    except FormError as error:
        return _settings_page(400, error.problems, _typed_values())
    return _settings_page(200, values=_typed_values(), trial=trial)


# Audit log


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@blueprint.get("/audit")
@requires(Feature.IDENTITY_MANAGEMENT)
def audit():
    text = request.args.get("page", "1")
    if not _PAGE_NUMBER.fullmatch(text):
        abort(400, description=f"page: expected a page number from 1, not {text[:20]!r}")
    total = db().scalar(select(func.count()).select_from(AuditEntry)) or 0
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    page = min(int(text), pages)  # past the end: the last page
    entries = recent(db(), limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE)
    return render_template("system/audit.html", entries=entries, page=page, pages=pages, total=total, pretty=_pretty, **_common())
