"""The operator's side: JSON API (and dashboard) behind HUB_ADMIN_TOKEN."""
