"""`python -m tests.deliveries.hub_process`: the default hub on a free port of 127.0.0.1
(configured by the environment); prints the port. For tests that SIGKILL it."""

from __future__ import annotations

from werkzeug.serving import make_server

from hub import create_app

if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()
