"""Rules for configuration values that end up in SQL, schema names, object keys and file
names. One home for each rule: the configuration model (clickstream_project/config.py) applies
them when a file is loaded, and whatever renders a value (the sink prefix) calls the same
function. Standard library only, like the model: the ingestion service and the Spark job
import it without Dagster.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
import zoneinfo

from clickstream_project.warehouse_names import reserved_reason

# The only placeholder of sink.prefix (DATA_CONTRACT §3: clickstream/<project_id>/data/buffer/).
PREFIX_PLACEHOLDERS = frozenset({"project_id"})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def not_a_warehouse_name(app_id: str) -> str:
    reason = reserved_reason(app_id)
    if reason is not None:
        raise ValueError(f"{app_id!r} is reserved ({reason}); app ids become schema names, choose another")
    return app_id


def no_control_characters(value: str) -> str:
    # A NUL ends the string for the OS and the SQL engines; a newline or an escape sequence in
    # a path misleads whoever reads the logs.
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    return value


def render_prefix(template: str, project_id: str) -> str:
    """``sink.prefix`` with its placeholder filled: a relative key prefix ending with '/'.

    The one rule for the prefix, used by the configuration check and by everything that
    renders it (ProjectConfig.raw_prefix: the ingestion sinks and processing). Only
    ``{project_id}`` is substituted, as is: a format spec (``{project_id:.<2.0}`` renders
    ``..``), a conversion, an attribute or index, or a positional field (``{0}``, an
    IndexError in the server) could turn the key into anything.
    """
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"not a valid template ({error}); write literal braces as {{{{ and }}}}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PREFIX_PLACEHOLDERS:
            raise ValueError(f"{{{name}}} is not a placeholder: only {{project_id}} is substituted")
        if conversion is not None:
            raise ValueError(f"{{project_id!{conversion}}}: no conversion allowed, write {{project_id}}")
        if spec:
            raise ValueError(f"{{project_id:{spec}}}: no format spec allowed, write {{project_id}}")
    rendered = template.format(project_id=project_id)
    if not rendered:
        return rendered
    if rendered.startswith("/") or not rendered.endswith("/"):
        raise ValueError(f"must be a relative key prefix ending with '/' (renders {rendered!r})")
    for segment in rendered[:-1].split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"must not hold an empty, '.' or '..' segment (renders {rendered!r})")
    return no_control_characters(rendered)


# S3 general purpose bucket names:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED_AFFIXES = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))


def s3_uri(value: str) -> str:
    """``s3://<bucket>[/<key>]``. Keys may hold any character but control characters and
    whitespace (EMR Serverless and Spark pass them in argument lists split on whitespace); the
    SQL layer quotes them."""
    no_control_characters(value)
    if not value.startswith("s3://"):
        raise ValueError("must be an s3://bucket/key URI")
    bucket, _, key = value.removeprefix("s3://").partition("/")
    bucket_name(bucket)
    if any(character.isspace() for character in key):
        raise ValueError("the key must not contain whitespace")
    return value


def bucket_name(bucket: str) -> str:
    starts, ends = _BUCKET_RESERVED_AFFIXES
    if not _BUCKET_NAME.match(bucket) or ".." in bucket or bucket.startswith(starts) or bucket.endswith(ends) or _is_ip_address(bucket):
        raise ValueError(
            f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit, no '..', not an IP address)"
        )
    return bucket


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def iana_time_zone(name: str) -> str:
    """An IANA time zone name (``Europe/Paris``, ``UTC``) this machine's zone database knows."""
    # Names only: "+02:00" or "CET"-style abbreviations shift with the seasons or mean different things.
    if name not in _zone_names():
        raise ValueError(f"{name!r} is not an IANA time zone name (like 'UTC', 'Europe/Paris' or 'America/New_York')")
    return name


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}
