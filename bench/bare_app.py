"""The baseline: a bare Flask app with one JSON route at the Stripe webhook's path, echoing JSON."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask("bare")


@app.post("/webhooks/<path:source>")
def echo(source: str):  # noqa: ANN201
    return jsonify(request.get_json(force=True, silent=True) or {})
