"""moto's server on 127.0.0.1, with the shims zappa needs against moto 5.2.5 (test code only).

Run by tests/deploy/cycle.py inside the emulator's own virtualenv (moto is never installed
next to hub): `python emulator.py` prints `listening on 127.0.0.1:<port>` and serves until
its standard input closes. The shims make moto answer as AWS does where zappa checks:

- `ListFunctionUrlConfigs` (GET /<version>/functions/<name>/urls): moto has no route for
  it; `zappa update` calls it to delete function URLs the settings no longer ask for.
- `AddPermission`: moto answers 200, AWS answers 201 Created; zappa's schedule step
  treats anything but 201 as a failure ("Problem creating permission").
- Deleting a CloudFormation stack leaves its `AWS::ApiGateway::RestApi` behind in moto;
  AWS deletes it with the stack (`zappa undeploy` relies on that).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any
from urllib.parse import unquote

from moto.apigateway.models import RestAPI, apigateway_backends
from moto.awslambda import urls
from moto.awslambda.responses import LambdaResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

LIST_URLS = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"


def list_function_url_configs(self: LambdaResponse) -> tuple[int, dict[str, Any], str]:
    function_name = unquote(self.path.rstrip("/").split("/")[-2])
    try:
        configs = [self.backend.get_function_url_config(function_name).to_dict()]
    except Exception:  # noqa: BLE001 - moto raises its own not-found for "no URL configured"
        configs = []
    return 200, {"status": 200}, json.dumps({"FunctionUrlConfigs": configs})


_add_permission = LambdaResponse.add_permission


def add_permission(self: LambdaResponse) -> tuple[int, dict[str, Any], str]:
    return 201, {"status": 201}, _add_permission(self)


def delete_rest_api(self: RestAPI, account_id: str, region_name: str) -> None:
    apigateway_backends[account_id][region_name].delete_rest_api(self.id)


def install_shims() -> None:
    urls.url_paths[LIST_URLS] = LambdaResponse.dispatch
    LambdaResponse.list_function_url_configs = list_function_url_configs  # type: ignore[attr-defined]
    LambdaResponse.add_permission = add_permission  # type: ignore[method-assign]
    RestAPI.delete = delete_rest_api  # type: ignore[attr-defined]  # moto tries .delete() first


def main() -> None:
    install_shims()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"listening on {host}:{port}", flush=True)
    sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    server.stop()


if __name__ == "__main__":
    main()
