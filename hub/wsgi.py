"""The one module-level app, for zappa (`app_function`) and gunicorn (`hub.wsgi:app`)."""

from hub import create_app

app = create_app()
