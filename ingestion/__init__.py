"""The ingestion service: accepts SDK requests over HTTP and stores them as raw records."""
