"""The Cognito sample connector's table and "current state" query, as the cognito-streams seed
(../shared/seeds/cognito-streams.txt) gives them: the reference the Cognito models
(tests/modeling) and the Cognito page (tests/console) are checked against."""

from __future__ import annotations

# Verbatim; IDENTITY_ID and DATASET_NAME are the seed's placeholders (see seed_query).
SEED_QUERY = """SELECT distinct temp.*, value FROM
(select distinct identityid,
datasetname,
key,
max(synccount) over (partition by identityid, datasetname, key) as max_synccount
FROM cognito_raw_data) as temp
INNER JOIN cognito_raw_data raw_data ON
(temp.identityid = raw_data.identityid and temp.datasetname = raw_data.datasetname and temp.key = raw_data.key and temp.max_synccount = raw_data.synccount)
WHERE raw_data.identityid = 'IDENTITY_ID'
AND raw_data.datasetname = 'DATASET_NAME'
AND op <> 'remove'
ORDER by datasetname, key"""
# The seed's table, with its types.
SEED_TABLE = """create table cognito_raw_data (
    identityPoolId varchar(1024), identityId varchar(1024), datasetName varchar(1024), operation varchar(64),
    key varchar(1024), value varchar(1024), op varchar(64), syncCount int,
    deviceLastModifiedDate timestamp, lastModifiedDate timestamp)"""


def seed_query(identity_id: str, dataset_name: str) -> str:
    """The seed's query for one identity and dataset, as a person would fill it in: its rows are
    (identityid, datasetname, key, max_synccount, value)."""
    return SEED_QUERY.replace("'IDENTITY_ID'", _literal(identity_id)).replace("'DATASET_NAME'", _literal(dataset_name))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
