"""The landing page and the console's own health check."""
