"""The one module-level app, for zappa (`app_function`) and gunicorn (`hub.wsgi:app`)."""

from hub.app import announce, create_app

app = create_app()
announce(app)  # a serving process says once what it runs with
