"""The one module-level app, for zappa (`app_function`) and gunicorn (`hub.wsgi:app`)."""

from hub.serving import serving_app

app = serving_app()
