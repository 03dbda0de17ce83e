"""Custom reports (implementation guide, "Custom report"): an Analyst's SQL over an app's views,
drawn as one chart and saved for the Analyst Readers."""
