"""The tools a person runs: the ``clickstream`` command line, ``clickstream demo``, the event
generator (``clickstream generate``) and the embedded Dagster instance they prepare."""
