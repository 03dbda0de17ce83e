"""Analytics Studio: the per-app dashboards, one module per report (activity.py, ...)."""
