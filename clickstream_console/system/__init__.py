"""System: the administrator's pages (feature Identity Management) — the users and their roles
(users.py), the role-mapping settings (mapping_settings.py), the audit log, and the views that show
them (views.py)."""
