"""GetHealth follows the serving flag it is given, call by call."""

from __future__ import annotations

from arrtheaudio_proto.v1 import admin_service_pb2
from arrtheaudio_server.api.health_http import AdminServicer, package_version


async def test_get_health_reports_the_current_serving_state() -> None:
    serving = {"now": True}
    servicer = AdminServicer(is_serving=lambda: serving["now"], storage="postgresql")
    reply = await servicer.GetHealth(admin_service_pb2.GetHealthRequest(), None)  # type: ignore[arg-type]
    assert (reply.status, reply.storage, reply.version) == ("SERVING", "postgresql", package_version())
    serving["now"] = False
    reply = await servicer.GetHealth(admin_service_pb2.GetHealthRequest(), None)  # type: ignore[arg-type]
    assert reply.status == "NOT_SERVING"
