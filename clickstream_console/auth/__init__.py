"""Signing in and out: local accounts (the embedded default), the OpenID provider (oidc.py), and
the session both leave behind (session.py)."""
