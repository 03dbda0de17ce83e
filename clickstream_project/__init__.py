"""The project model: the validated configuration of a project (its apps and pipeline), app
registration and the SDK configuration files, and which environment the platform runs in.

No Dagster, Spark or Flask here: ingestion, the Dagster definitions, the tools and the console
all import it, and importing it must stay cheap.
"""
