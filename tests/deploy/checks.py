"""What must exist on "AWS" (the emulator) after `infra.deploy deploy|update`, and what must not.

Expected values come from the project's zappa_settings.json and build/hub-<stage>.zip,
never from what was deployed, so a setting zappa drops or a resource in the wrong region
fails here. Each check returns one line: `ok   ...` or `FAIL ...`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import boto3
from zappa.core import ASSUME_POLICY, ATTACH_POLICY

from infra.deploy import load_stage

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = "us-east-1"  # the shell's region in the cycle: nothing may land there
SECRET_LIKE = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE|API_KEY|AUTH|DSN|CREDENTIAL|_KEY$", re.I)


class Failed(Exception):
    """A step of the cycle that cannot go on."""


def expect(ok: bool, what: str, detail: object = "") -> str:
    return f"ok    {what}" if ok else f"FAIL  {what}" + (f": {detail}" if detail != "" else "")


class Inspector:
    def __init__(self, endpoint: str, stage: str, overlay: dict[str, Any]) -> None:
        self.stage = load_stage(stage)
        self.config = {**self.stage.config, **overlay}  # what this run asked zappa for
        self.region = self.stage.region
        self.name = self.stage.lambda_name
        self.retained = self.config.get("num_retained_versions") or 10**6
        credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self._client = lambda service, region=self.region: boto3.client(
            service, region_name=region, endpoint_url=endpoint, **credentials
        )

    # -- after deploy and after update ------------------------------------------------

    def deployed(self, output: str, *, published_versions: int, secrets: dict[str, str]) -> list[str]:
        """`secrets`: the variables the README's step 5 gave the function (none yet after deploy)."""
        function = self._client("lambda").get_function(FunctionName=self.name)
        return [
            *self._role(function["Configuration"]["Role"]),
            *self._bucket(),
            *self._function(function, published_versions, secrets),
            *self.schedules_only(),
            *self._api(output),
            *self._nothing_in(ELSEWHERE),
        ]

    def _role(self, function_role: str) -> list[str]:
        iam = self._client("iam")
        role_name = f"{self.name}-ZappaLambdaExecutionRole"
        role = iam.get_role(RoleName=role_name)["Role"]
        policy = iam.get_role_policy(RoleName=role_name, PolicyName="zappa-permissions")["PolicyDocument"]
        return [
            expect(
                role["AssumeRolePolicyDocument"] == json.loads(ASSUME_POLICY),
                "IAM role trusts Lambda and API Gateway",
                role["AssumeRolePolicyDocument"],
            ),
            expect(policy == json.loads(ATTACH_POLICY), "IAM policy zappa-permissions is zappa's"),
            expect(function_role == role["Arn"], "the function runs as that role", function_role),
        ]

    def _bucket(self) -> list[str]:
        s3 = self._client("s3")
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        if len(buckets) != 1:
            return [expect(False, "exactly one bucket", buckets)]
        [bucket] = buckets
        where = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
        objects = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        package = self.stage.package.stat().st_size
        return [
            expect(where == self.region, f"one bucket, {bucket}, in {self.region}", where),
            expect(objects == {f"{self.name}.zip": package}, "it holds the upload, and only it", objects),
        ]

    def give_secrets(self, secrets: dict[str, str]) -> None:
        """The README's step 5: the function's secrets, set outside zappa_settings.json."""
        self._client("lambda").update_function_configuration(
            FunctionName=self.name, Environment={"Variables": secrets}
        )

    def _function(
        self, function: dict[str, Any], published_versions: int, secrets: dict[str, str]
    ) -> list[str]:
        conf = function["Configuration"]
        environment = conf.get("Environment", {}).get("Variables", {})
        packaged = self._packaged_settings()
        baked = packaged["ENVIRONMENT_VARIABLES"]
        built_for = (packaged["API_STAGE"], packaged["BINARY_SUPPORT"])
        versions = [
            v["Version"]
            for v in self._client("lambda").list_versions_by_function(FunctionName=self.name)["Versions"]
            if v["Version"] != "$LATEST"
        ]
        sha = base64.b64encode(hashlib.sha256(self.stage.package.read_bytes()).digest()).decode()
        c, f, shown = (
            self.config,
            conf,
            sorted({**{k: v for k, v in environment.items() if k not in secrets}, **baked}),
        )
        return [
            expect(f["FunctionArn"].split(":")[3] == self.region, f"function {self.name} in {self.region}"),
            expect(f["Runtime"] == c["runtime"], f"runtime {c['runtime']}", f["Runtime"]),
            expect(f["MemorySize"] == c["memory_size"], f"memory {c['memory_size']} MB", f["MemorySize"]),
            expect(f["Timeout"] == c["timeout_seconds"], f"timeout {c['timeout_seconds']} s", f["Timeout"]),
            expect(f["Handler"] == "handler.lambda_handler", "handler is zappa's", f["Handler"]),
            expect(f["CodeSha256"] == sha, f"its code is build/{self.stage.package.name}", f["CodeSha256"]),
            expect(
                baked == {**c["environment_variables"], "AWS_REGION": self.region},
                f"packaged environment: the settings' {', '.join(c['environment_variables'])} and AWS_REGION",
                baked,
            ),
            expect(
                not [k for k in shown if SECRET_LIKE.search(k)],
                "no secret-like variable from settings",
                shown,
            ),
            expect(
                environment == secrets,
                "the function's own variables are the ones step 5 set, kept by update"
                if secrets
                else "the function has no variables of its own yet",
                sorted(environment),
            ),
            expect(
                built_for == (self.stage.name, c["binary_support"]),
                "the package was built for this stage and its binary_support",
                built_for,
            ),
            expect(
                len(versions) == published_versions,
                f"{published_versions} published version(s) kept (num_retained_versions "
                f"{c.get('num_retained_versions')})",
                versions,
            ),
        ]

    def _packaged_settings(self) -> dict[str, Any]:
        """The settings zappa wrote into the package's zappa_settings.py."""
        with zipfile.ZipFile(self.stage.package) as archive:
            source = archive.read("zappa_settings.py").decode()
        values: dict[str, Any] = {}
        exec(source, values)  # noqa: S102 - zappa's generated module is plain assignments
        return values

    def schedules_only(self) -> list[str]:
        events = self._client("events")
        arn = self._client("lambda").get_function(FunctionName=self.name)["Configuration"]["FunctionArn"]
        wanted = {f"{self.name}-{e['function']}": e["expression"] for e in self.config["events"]}
        keep_warm = f"{self.name}-zappa-keep-warm-handler.keep_warm_callback"
        wanted[keep_warm] = self.config["keep_warm_expression"]
        rules = {r["Name"]: r.get("ScheduleExpression") for r in events.list_rules()["Rules"]}
        targets = {
            name: [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] for name in rules
        }
        return [
            expect(
                rules == wanted,
                f"{len(self.config['events'])} schedules plus keep-warm, with their expressions",
                rules,
            ),
            expect(all(t == [arn] for t in targets.values()), "each rule targets the function", targets),
        ]

    def _api(self, output: str) -> list[str]:
        """The stage's one API, REST (v1) or HTTP (v2) as the settings choose, and no other."""
        apis = self._apis(self.region)
        if len(apis) != 1:
            return [expect(False, "exactly one API", apis)]
        [(kind, api_id, name)] = apis
        wanted = "http" if self.config.get("apigateway_version", "v1") == "v2" else "rest"
        if kind == "rest":
            stages = [s["stageName"] for s in self._client("apigateway").get_stages(restApiId=api_id)["item"]]
            wiring = []
        else:
            stages = [s["StageName"] for s in self._client("apigatewayv2").get_stages(ApiId=api_id)["Items"]]
            wiring = self._http_api_wiring(api_id)
        url = f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{self.stage.name}"
        return [
            expect(
                kind == wanted and name == self.name and stages == [self.stage.name],
                f"one {wanted.upper()} API, {self.name}, with stage {self.stage.name}",
                (kind, name, stages),
            ),
            *wiring,
            expect(url in output, f"the printed URL is {url}", output.strip().splitlines()[-1:]),
        ]

    def _http_api_wiring(self, api_id: str) -> list[str]:
        v2 = self._client("apigatewayv2")
        arn = self._client("lambda").get_function(FunctionName=self.name)["Configuration"]["FunctionArn"]
        routes = [(r["RouteKey"], r.get("Target")) for r in v2.get_routes(ApiId=api_id)["Items"]]
        fields = ("IntegrationId", "IntegrationType", "PayloadFormatVersion", "IntegrationUri")
        integrations = [tuple(i[f] for f in fields) for i in v2.get_integrations(ApiId=api_id)["Items"]]
        wired = len(integrations) == 1 and integrations[0][1:] == ("AWS_PROXY", "2.0", arn)
        routed = wired and routes == [("$default", f"integrations/{integrations[0][0]}")]
        policy = json.loads(self._client("lambda").get_policy(FunctionName=self.name)["Policy"])
        source = f"arn:aws:execute-api:{self.region}:{arn.split(':')[4]}:{api_id}/*"
        allowed = [
            st
            for st in policy["Statement"]
            if st.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"
            and st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == source
        ]
        return [
            expect(routed, "its $default route proxies to the function, payload 2.0", (routes, integrations)),
            expect(
                len(allowed) == 1, f"the function lets that API invoke it ({source})", policy["Statement"]
            ),
        ]

    def _apis(self, region: str) -> list[tuple[str, str, str]]:
        rest = self._client("apigateway", region).get_rest_apis()["items"]
        http = self._client("apigatewayv2", region).get_apis()["Items"]
        return [("rest", a["id"], a["name"]) for a in rest] + [("http", a["ApiId"], a["Name"]) for a in http]

    def _nothing_in(self, region: str) -> list[str]:
        if region == self.region:
            return []
        client = lambda service: self._client(service, region)  # noqa: E731
        found = {
            "functions": [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]],
            "rules": [r["Name"] for r in client("events").list_rules()["Rules"]],
            "stacks": [s["StackName"] for s in client("cloudformation").describe_stacks()["Stacks"]],
            "apis": self._apis(region),
        }
        found = {kind: names for kind, names in found.items() if names}
        return [expect(not found, f"nothing in {region} (the shell's region)", found)]

    # -- after undeploy -----------------------------------------------------------------

    def removed(self) -> list[str]:
        left = {
            "functions": [f["FunctionName"] for f in self._client("lambda").list_functions()["Functions"]],
            "rules": [r["Name"] for r in self._client("events").list_rules()["Rules"]],
            "stacks": [
                s["StackName"]
                for s in self._client("cloudformation").describe_stacks()["Stacks"]
                if s["StackStatus"] != "DELETE_COMPLETE"
            ],
            "apis": self._apis(self.region),
        }
        left = {kind: names for kind, names in left.items() if names}
        return [
            expect(not left, "undeploy removed the function, rules, stack and API", left),
            *self._nothing_in(ELSEWHERE),
        ]
