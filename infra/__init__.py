"""Deployment: schedules, packaging, webhook registration, doctor (see docs/DEPLOY.md)."""
