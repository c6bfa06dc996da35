"""``GET /metrics``: the store's figures (and this process's counters) in the Prometheus text format.

The job figures come from the queue's database at scrape time — counts by status, lifetime
totals of finished jobs by result/container/source, their summed durations — so every instance
sharing a PostgreSQL queue reports the same values, and a restart never resets a counter (the
lifetime table survives retention). What only a process knows (its busy workers, webhook
deliveries it answered, tool runs) is reported per process, as Prometheus expects.

prometheus_client renders the text: one fresh registry per scrape with a collector that yields
the figures read for that scrape, plus the process registry (:mod:`arrtheaudio_server.observability`).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from arrtheaudio_server import observability
from arrtheaudio_server.queue.domain import MetricsFigures

CONTENT_TYPE = CONTENT_TYPE_LATEST
QUEUE_STATUSES = ("queued", "running", "waiting_for_space", "completed", "failed", "cancelled")


class _StoreCollector(Collector):
    def __init__(self, figures: MetricsFigures, *, workers_total: int, workers_busy: int) -> None:
        self._figures = figures
        self._workers_total = workers_total
        self._workers_busy = workers_busy

    def collect(self) -> Iterator[Metric]:
        figures = self._figures
        queue = GaugeMetricFamily(
            "arrtheaudio_queue_jobs",
            "Jobs in the queue store by status (every instance's).",
            labels=["status"],
        )
        for status in QUEUE_STATUSES:
            queue.add_metric([status], getattr(figures.queue, status))
        yield queue

        finished = CounterMetricFamily(
            "arrtheaudio_jobs_finished",
            "Jobs finished since the store was created, by result, container and source "
            "(a retried job counts once, by its last outcome).",
            labels=["result", "container", "source"],
        )
        for item in sorted(figures.finished, key=lambda f: (f.result, f.container, f.source)):
            finished.add_metric([item.result, item.container, item.source], item.count)
        yield finished

        durations = SummaryMetricFamily(
            "arrtheaudio_job_duration_seconds",
            "Wall time of finished jobs' last attempt, by container.",
            labels=["container"],
        )
        for container, (count, ms_sum) in sorted(figures.durations.items()):
            durations.add_metric([container], count_value=count, sum_value=ms_sum / 1000)
        yield durations

        batches = GaugeMetricFamily(
            "arrtheaudio_batches", "Library scans in the store by status.", labels=["status"]
        )
        for status, n in sorted(figures.batches.items()):
            batches.add_metric([status], n)
        yield batches

        yield GaugeMetricFamily("arrtheaudio_workers", "Workers of this instance.", value=self._workers_total)
        yield GaugeMetricFamily(
            "arrtheaudio_workers_busy",
            "Workers of this instance running a job now.",
            value=self._workers_busy,
        )


def render(figures: MetricsFigures, *, workers_total: int, workers_busy: int) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(figures, workers_total=workers_total, workers_busy=workers_busy))
    return generate_latest(registry) + generate_latest(observability.REGISTRY)
