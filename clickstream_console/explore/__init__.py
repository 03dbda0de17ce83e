"""Explore (issue 15): ad-hoc event, funnel, path and retention analyses over an app's event-level views."""
