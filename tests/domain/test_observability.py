"""The process counters /metrics adds to the store's figures: each tool outcome lands in its label."""

from __future__ import annotations

import pytest

from arrtheaudio_server import observability
from arrtheaudio_server.media.tools import ToolResult


def _value(name: str, **labels: str) -> float:
    return observability.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (ToolResult(("/usr/bin/probe-ok",), 0, b"", b"", 20), "ok"),
        (ToolResult(("probe-failed",), 2, b"", b"boom", 5), "failed"),
        (ToolResult(("probe-slow",), None, b"", b"", 3000, timed_out=True), "timeout"),
        (ToolResult(("probe-missing",), None, b"", b"", 0, error="executable not found"), "missing"),
    ],
)
def test_record_tool_counts_the_outcome_and_the_duration(result: ToolResult, outcome: str) -> None:
    tool = result.argv[0].rsplit("/", 1)[-1]
    runs = _value("arrtheaudio_tool_runs_total", tool=tool, outcome=outcome)
    seconds = _value("arrtheaudio_tool_duration_seconds_sum", tool=tool)
    assert result.outcome == outcome
    observability.record_tool(result.argv[0], outcome=result.outcome, seconds=result.duration_ms / 1000)
    assert _value("arrtheaudio_tool_runs_total", tool=tool, outcome=outcome) == runs + 1
    assert _value("arrtheaudio_tool_duration_seconds_sum", tool=tool) == pytest.approx(
        seconds + result.duration_ms / 1000
    )


async def test_run_tool_records_a_real_run() -> None:
    from arrtheaudio_server.media.tools import run_tool

    before = _value("arrtheaudio_tool_runs_total", tool="true", outcome="ok")
    assert (await run_tool(["true"], timeout=10)).ok
    missing = _value("arrtheaudio_tool_runs_total", tool="no-such-tool-xyz", outcome="missing")
    assert not (await run_tool(["no-such-tool-xyz"], timeout=10)).ok
    assert _value("arrtheaudio_tool_runs_total", tool="true", outcome="ok") == before + 1
    assert _value("arrtheaudio_tool_runs_total", tool="no-such-tool-xyz", outcome="missing") == missing + 1
