"""The Dagster definitions: assets, checks, sensors, schedules, jobs and resources, one
subpackage per domain (lake, processing, modeling, quality, alerts), merged in ``definitions.py``;
the names domains share (asset keys, check names, tags, jobs) in ``names.py``.

The project model they read lives in ``clickstream_project``; the command line and the demo in
``clickstream_tools``.
"""
