"""The REST shape every RPC promises (the issue's table), read from the compiled descriptor.

Other teams and users code against these paths; a change here is a deliberate contract change.
"""

from __future__ import annotations

import re

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from tests.contract.conftest import REPO_ROOT

# service.rpc -> (HTTP verb, path, body, server-streaming)
EXPECTED = {
    "JobService.GetJob": ("get", "/jobs/{job_id}", "", False),
    "JobService.ListJobs": ("get", "/jobs", "", False),
    "JobService.CancelJob": ("delete", "/jobs/{job_id}", "", False),
    "JobService.GetQueue": ("get", "/queue", "", False),
    "JobService.WatchJob": ("get", "/jobs/{job_id}:watch", "", True),
    "JobService.WatchQueue": ("get", "/queue:watch", "", True),
    "JobService.RetryJob": ("post", "/jobs/{job_id}:retry", "*", False),
    "BatchService.StartBatch": ("post", "/batch", "*", False),
    "BatchService.GetBatch": ("get", "/batch/{batch_id}", "", False),
    "BatchService.ListBatches": ("get", "/batch", "", False),
    "BatchService.CancelBatch": ("delete", "/batch/{batch_id}", "", False),
    "BatchService.WatchBatch": ("get", "/batch/{batch_id}:watch", "", True),
    "BatchService.RetryBatch": ("post", "/batch/{batch_id}:retry", "*", False),
    "BatchService.ListSchedules": ("get", "/schedules", "", False),
    "WebhookService.SonarrWebhook": ("post", "/webhook/sonarr", "body", False),
    "WebhookService.RadarrWebhook": ("post", "/webhook/radarr", "body", False),
    "WebhookService.GetWebhook": ("get", "/webhook/{webhook_id}", "", False),
    "WebhookService.ListWebhooks": ("get", "/webhook", "", False),
    "WebhookService.WatchWebhook": ("get", "/webhook/{webhook_id}:watch", "", True),
    "StatsService.GetStats": ("get", "/stats", "", False),
    "StatsService.GetJobStats": ("get", "/jobs/stats", "", False),
    "StatsService.GetDailyStats": ("get", "/stats/daily", "", False),
    "DashboardService.GetAsset": ("get", "/ui/{path=**}", "", False),
    "DashboardService.GetMetrics": ("get", "/metrics", "", False),
    "AdminService.Cleanup": ("post", "/admin/cleanup", "*", False),
    "AdminService.GetHealth": ("get", "/health", "", False),
    "AdminService.TestArrConnections": ("post", "/arr/connections:test", "*", False),
}


def _descriptor() -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(
        (REPO_ROOT / "descriptors" / "arrtheaudio.binpb").read_bytes()
    )


def _rpcs() -> dict[str, tuple[descriptor_pb2.MethodDescriptorProto, http_pb2.HttpRule]]:
    found = {}
    for file in _descriptor().file:
        if file.package != "arrtheaudio.v1":
            continue
        for service in file.service:
            for method in service.method:
                rule = http_pb2.HttpRule()
                # The extension arrives as unknown bytes in a plain FileDescriptorSet parse; re-parse.
                options = descriptor_pb2.MethodOptions.FromString(method.options.SerializeToString())
                if options.HasExtension(annotations_pb2.http):
                    rule = options.Extensions[annotations_pb2.http]
                found[f"{service.name}.{method.name}"] = (method, rule)
    return found


def test_every_rpc_has_the_promised_rest_path() -> None:
    actual = {}
    for name, (method, rule) in _rpcs().items():
        verb = rule.WhichOneof("pattern")
        actual[name] = (verb, getattr(rule, verb) if verb else "", rule.body, method.server_streaming)
    assert actual == EXPECTED


def test_path_variables_are_fields_of_the_request() -> None:
    messages = {
        f".{f.package}.{m.name}": {fld.name for fld in m.field}
        for f in _descriptor().file
        for m in f.message_type
    }
    for name, (method, rule) in _rpcs().items():
        path = getattr(rule, rule.WhichOneof("pattern"))
        for var in re.findall(r"{(\w+)}", path):
            assert var in messages[method.input_type], (
                f"{name}: {{{var}}} is not a field of {method.input_type}"
            )


def test_webhook_requests_wrap_the_raw_body_and_take_query_credentials() -> None:
    from arrtheaudio_proto.v1 import webhook_service_pb2

    for message in (webhook_service_pb2.SonarrWebhookRequest, webhook_service_pb2.RadarrWebhookRequest):
        fields = {f.name: f for f in message.DESCRIPTOR.fields}
        assert fields["body"].message_type.full_name == "google.api.HttpBody"
        assert fields["token"].number == 2 and fields["apikey"].number == 3


@pytest.mark.parametrize(
    ("enum_name", "values"),
    [
        ("JobStatus", ["QUEUED", "RUNNING", "WAITING_FOR_SPACE", "COMPLETED", "FAILED", "CANCELLED"]),
        ("JobResult", ["SUCCESS", "FAILED", "SKIPPED"]),
        ("Priority", ["LOW", "NORMAL", "HIGH"]),
        ("Source", ["SONARR", "RADARR", "MANUAL"]),
        ("Container", ["MKV", "MP4"]),
        ("LanguageSource", ["ARR", "TMDB", "HEURISTIC", "PRIORITY", "NONE", "ARR_LIBRARY"]),
        ("BatchStatus", ["SCANNING", "RUNNING", "COMPLETED", "CANCELLED", "FAILED"]),
    ],
)
def test_enums_have_the_domain_values(enum_name: str, values: list[str]) -> None:
    from arrtheaudio_proto.v1 import common_pb2

    enum = common_pb2.DESCRIPTOR.enum_types_by_name[enum_name]
    prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum_name).upper() + "_"
    assert [v.name for v in enum.values] == [f"{prefix}UNSPECIFIED", *(prefix + v for v in values)]
    assert enum.values[0].number == 0


def test_readme_documents_every_rpc_with_its_path() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for name, (verb, path, _body, _stream) in EXPECTED.items():
        rpc = name.split(".")[1]
        row = re.search(
            rf"^\|[^\n]*\b{rpc}\b[^\n]*\|[^\n]*`{verb.upper()} {re.escape(path)}`", readme, re.MULTILINE
        )
        assert row, f"README has no table row for {name} with `{verb.upper()} {path}`"
