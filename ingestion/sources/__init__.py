"""Sources the platform reads itself (``pipeline.sources``), landing raw files in the lake."""
