"""The Acquisition report (implementation guide, "Acquisition report"): how new users found the app
for the first time, and their profiles. New users are users whose first-visit event
(``_first_open``/``_first_visit``) falls in the range, on its UTC date.

- ``clickstream_user_acquisition_view`` (new users per day, platform, traffic source, medium,
  campaign and country, already counted) for new users over time and by those dimensions;
- ``clickstream_user_dim_view`` (one row per new user) for the summary and the dimensions the
  aggregate lacks: city, device language, install source, registered or not;
- ``clickstream_user_attr_view`` for the custom attributes in the user profile table.

Dimensions (filters): platform, country, traffic source, medium and campaign, the ones both views
carry. Not offered as filters: city, device language and install source (the aggregated view has
none of them, so its charts could not follow), registered (likewise; it is a chart and a profile
column instead), ``user_id``/``user_pseudo_id`` (identities, shown in the profile table), and the
custom attributes (one row per user and attribute, a different grain). Values missing from the
view are drawn as "(not set)", which is a label, not a value a filter matches.

The profile table has one row per user and custom attribute (the guide's ``custom_attr_key`` and
``custom_attr_value`` dimensions; a user without attributes is one row with none), not one cell
listing them: no string aggregate is written alike in all three warehouses (Athena's ``listagg``
needs ``WITHIN GROUP``, which sqlglot's Redshift output gets wrong).
"""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import Chart, Dimension, Report, days_in_range, filter_clause
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

# On clickstream_user_dim_view, aliased ``u``.
DIMENSIONS = (
    Dimension("platform", "Platform", "u.first_platform", choices=get_args(Platform)),
    Dimension("country", "Country", "u.first_visit_country"),
    Dimension("traffic_source", "Traffic source", "u.first_traffic_source_source"),
    Dimension("medium", "Medium", "u.first_traffic_source_medium"),
    Dimension("campaign", "Campaign", "u.first_traffic_source_name"),
)
# The same filters on clickstream_user_acquisition_view, aliased ``a``.
_ACQUISITION_VIEW_COLUMNS = {
    "platform": "a.platform",
    "country": "a.first_visit_country",
    "traffic_source": "a.first_traffic_source_source",
    "medium": "a.first_traffic_source_medium",
    "campaign": "a.first_traffic_source_name",
}
_ON_ACQUISITION_VIEW = tuple(
    Dimension(dimension.name, dimension.label, _ACQUISITION_VIEW_COLUMNS[dimension.name]) for dimension in DIMENSIONS
)
_NEW_USERS = f"{days_in_range('u.first_visit_date')} and {filter_clause(DIMENSIONS)}"
_ACQUIRED = f"{days_in_range('a.first_visit_date')} and {filter_clause(_ON_ACQUISITION_VIEW)}"
TOP_VALUES = 20
PROFILES = 100
NOT_SET = "'(not set)'"

KPIS = ReportQuery(
    "acquisition_kpis",
    f"""
select
    count(*) as new_users,
    count(case when u.is_registered = 'Registered' then 1 end) as registered_users,
    round(100.0 * count(case when u.is_registered = 'Registered' then 1 end) / nullif(count(*), 0), 1) as registered_percent
from clickstream_user_dim_view as u
where {_NEW_USERS}
""",
)

NEW_USERS_OVER_TIME = ReportQuery(
    "acquisition_new_users_over_time",
    f"""
select a.first_visit_date, cast(sum(a.new_user_count) as bigint) as new_users
from clickstream_user_acquisition_view as a
where {_ACQUIRED}
group by a.first_visit_date
order by a.first_visit_date
""",
)


def _acquired_by(name: str, column: str) -> ReportQuery:
    """New users by one column of the acquisition view, the top values, as ``name``."""
    return ReportQuery(
        f"acquisition_new_users_by_{name}",
        f"""
select coalesce(a.{column}, {NOT_SET}) as {name}, cast(sum(a.new_user_count) as bigint) as new_users
from clickstream_user_acquisition_view as a
where {_ACQUIRED}
group by coalesce(a.{column}, {NOT_SET})
order by new_users desc, {name}
limit {TOP_VALUES}
""",
    )


def _new_users_by(name: str, column: str) -> ReportQuery:
    """New users by one column of the user view, the top values, as ``name``."""
    return ReportQuery(
        f"acquisition_new_users_by_{name}",
        f"""
select coalesce(u.{column}, {NOT_SET}) as {name}, count(*) as new_users
from clickstream_user_dim_view as u
where {_NEW_USERS}
group by coalesce(u.{column}, {NOT_SET})
order by new_users desc, {name}
limit {TOP_VALUES}
""",
    )


# A city name is not unique across countries, so the country stays next to it.
NEW_USERS_BY_CITY = ReportQuery(
    "acquisition_new_users_by_city",
    f"""
select coalesce(u.first_visit_city, {NOT_SET}) as city, coalesce(u.first_visit_country, {NOT_SET}) as country, count(*) as new_users
from clickstream_user_dim_view as u
where {_NEW_USERS}
group by coalesce(u.first_visit_city, {NOT_SET}), coalesce(u.first_visit_country, {NOT_SET})
order by new_users desc, city, country
limit {TOP_VALUES}
""",
)

# The newest users of the range with their first-visit dimensions, a row per latest custom attribute.
USER_PROFILES = ReportQuery(
    "acquisition_user_profiles",
    f"""
with newest as (
    select u.*
    from clickstream_user_dim_view as u
    where {_NEW_USERS}
    order by u.first_visit_date desc, u.user_pseudo_id
    limit {PROFILES}
)
select
    n.user_pseudo_id,
    n.user_id,
    n.first_visit_date,
    n.first_platform,
    n.first_visit_country,
    n.first_visit_city,
    n.first_visit_device_language,
    n.first_visit_install_source,
    n.first_traffic_source_source,
    n.first_traffic_source_medium,
    n.first_traffic_source_name,
    n.is_registered,
    t.custom_attr_key,
    t.custom_attr_value
from newest as n
left join clickstream_user_attr_view as t on t.user_pseudo_id = n.user_pseudo_id
order by n.first_visit_date desc, n.user_pseudo_id, t.custom_attr_key
""",
)

FRESHNESS = ReportQuery("acquisition_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_ods_event_view")


def _by(name: str, kind: str, title: str, query: ReportQuery) -> Chart:
    """A chart ``by_<x>``: new users by the query's column ``x``."""
    return Chart(name, kind, title, query, x=name.removeprefix("by_"), y=("new_users",), utc_days=True)


REPORT = Report(
    name="acquisition",
    title="Acquisition",
    description="How new users found the app for the first time: by traffic source, campaign, platform and place, and their profiles.",
    dimensions=DIMENSIONS,
    charts=(
        Chart("kpis", "kpi", "New users", KPIS, x=None, y=("new_users", "registered_users", "registered_percent"), utc_days=True),
        Chart(
            "new_users_over_time",
            "line",
            "New users over time",
            NEW_USERS_OVER_TIME,
            x="first_visit_date",
            y=("new_users",),
            daily=True,
            utc_days=True,
        ),
        _by("by_traffic_source", "bar", "New users by first traffic source", _acquired_by("traffic_source", "first_traffic_source_source")),
        _by("by_medium", "bar", "New users by first traffic medium", _acquired_by("medium", "first_traffic_source_medium")),
        _by("by_campaign", "bar", "New users by first campaign", _acquired_by("campaign", "first_traffic_source_name")),
        _by("by_platform", "pie", "New users by first platform", _acquired_by("platform", "platform")),
        _by("by_country", "bar", "New users by country", _acquired_by("country", "first_visit_country")),
        _by("by_city", "bar", "New users by city", NEW_USERS_BY_CITY),
        _by("by_device_language", "bar", "New users by device language", _new_users_by("device_language", "first_visit_device_language")),
        _by("by_install_source", "bar", "New users by install source", _new_users_by("install_source", "first_visit_install_source")),
        _by("by_registration", "pie", "Registered and non-registered new users", _new_users_by("registration", "is_registered")),
        # A profile has no measure: its first-visit date is what tells a row from no data.
        Chart(
            "user_profiles",
            "table",
            f"User profiles: the {PROFILES} newest users and their custom attributes",
            USER_PROFILES,
            x="user_pseudo_id",
            y=("first_visit_date",),
            utc_days=True,
        ),
    ),
    freshness=FRESHNESS,
)
