"""Alarms: what went wrong (``message``), where it is sent (``channels``) and the sensors that
notice failed runs and failed asset checks (``sensors``)."""
