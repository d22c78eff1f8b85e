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
- moto's CloudFormation knows no `AWS::ApiGatewayV2::*` resources (it skips them with a
  warning), so an HTTP API stack made nothing: the four zappa uses (Api, Integration,
  Route, Stage) are made here through moto's own apigatewayv2 backend.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any
from urllib.parse import unquote

from moto.apigateway.models import RestAPI, apigateway_backends
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda import urls
from moto.awslambda.responses import LambdaResponse
from moto.core.common_models import CloudFormationModel
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


# moto files every model under the service its module is named after (moto.<service>.*).
SHIM_MODULE = "moto.apigatewayv2.emulator_shim"


class _HttpApiPart:
    """One AWS::ApiGatewayV2 resource of zappa's HTTP API template, made in moto's backend.
    (moto finds models among CloudFormationModel's *direct* subclasses: each part below
    names it second.)"""

    KIND = ""

    def __init__(self, physical_id: str, api_id: str, properties: dict[str, Any]) -> None:
        self.physical_resource_id, self.api_id, self.properties = physical_id, api_id, properties

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return f"AWS::ApiGatewayV2::{cls.KIND}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ApiId", "ApiEndpoint")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> _HttpApiPart:
        properties = cloudformation_json["Properties"]
        backend = apigatewayv2_backends[account_id][region_name]
        physical_id, api_id = cls.make(backend, properties)
        return cls(physical_id, api_id, properties)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: _HttpApiPart,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _HttpApiPart:
        if cloudformation_json["Properties"] != original_resource.properties:
            raise NotImplementedError(f"emulator shim: changing an {cls.cloudformation_type()}")
        return original_resource  # zappa update sends the same template: nothing changes

    def delete(self, account_id: str, region_name: str) -> None:
        if self.KIND == "Api":  # its integration, route and stage go with it
            apigatewayv2_backends[account_id][region_name].delete_api(self.api_id)

    @staticmethod
    def make(backend: Any, p: dict[str, Any]) -> tuple[str, str]:
        raise NotImplementedError


class _Api(_HttpApiPart, CloudFormationModel):
    __module__ = SHIM_MODULE
    KIND = "Api"

    @staticmethod
    def make(backend: Any, p: dict[str, Any]) -> tuple[str, str]:
        api = backend.create_api(
            api_key_selection_expression=None,
            cors_configuration=p.get("CorsConfiguration"),
            description=p.get("Description"),
            disable_schema_validation=None,
            disable_execute_api_endpoint=None,
            name=p["Name"],
            protocol_type=p["ProtocolType"],
            route_selection_expression=None,
            tags={},
            version=None,
        )
        return api.api_id, api.api_id


class _Integration(_HttpApiPart, CloudFormationModel):
    __module__ = SHIM_MODULE
    KIND = "Integration"

    @staticmethod
    def make(backend: Any, p: dict[str, Any]) -> tuple[str, str]:
        unset = dict.fromkeys(
            (
                "connection_id",
                "connection_type",
                "content_handling_strategy",
                "credentials_arn",
                "description",
                "integration_method",
                "integration_subtype",
                "passthrough_behavior",
                "request_parameters",
                "request_templates",
                "response_parameters",
                "template_selection_expression",
                "timeout_in_millis",
                "tls_config",
            )
        )
        integration = backend.create_integration(
            api_id=p["ApiId"],
            integration_type=p["IntegrationType"],
            integration_uri=p["IntegrationUri"],
            payload_format_version=p.get("PayloadFormatVersion"),
            **unset,
        )
        return integration.id, p["ApiId"]


class _Route(_HttpApiPart, CloudFormationModel):
    __module__ = SHIM_MODULE
    KIND = "Route"

    @staticmethod
    def make(backend: Any, p: dict[str, Any]) -> tuple[str, str]:
        route = backend.create_route(
            api_id=p["ApiId"],
            api_key_required=False,
            authorization_scopes=[],
            authorization_type=p.get("AuthorizationType"),
            authorizer_id=None,
            model_selection_expression=None,
            operation_name=None,
            request_models=None,
            request_parameters=None,
            route_key=p["RouteKey"],
            route_response_selection_expression=None,
            target=p.get("Target"),
        )
        return route.route_id, p["ApiId"]


class _Stage(_HttpApiPart, CloudFormationModel):
    __module__ = SHIM_MODULE
    KIND = "Stage"

    @staticmethod
    def make(backend: Any, p: dict[str, Any]) -> tuple[str, str]:
        backend.create_stage(p["ApiId"], {"stageName": p["StageName"], "autoDeploy": p.get("AutoDeploy")})
        return p["StageName"], p["ApiId"]


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
