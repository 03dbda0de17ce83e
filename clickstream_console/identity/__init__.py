"""Who may do what: the product's four roles and their features (roles.py), and how a signed-in
user's roles are found from their ID token's groups (role_mapping.py)."""
