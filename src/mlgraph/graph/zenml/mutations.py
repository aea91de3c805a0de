"""ZenML's writes (seeds 000 and 003), each returning the object it changed."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from mlgraph.backends import zenml as wire
from mlgraph.graph.errors import UserInputError
from mlgraph.graph.zenml.types import ZenMLExecutionStatus, ZenMLService, ZenMLStepRun, load, loaders, zenml_id


@strawberry.enum(description="A service's administrative or operational state.")
class ZenMLServiceState(Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PENDING_STARTUP = "pending_startup"
    PENDING_SHUTDOWN = "pending_shutdown"
    ERROR = "error"
    SCALED_TO_ZERO = "scaled_to_zero"


@strawberry.input
class UpdateStepRunInput:
    status: ZenMLExecutionStatus | None = None
    end_time: datetime | None = None


@strawberry.input
class ZenMLServiceTypeInput:
    type: str
    flavor: str
    name: str = ""
    description: str = ""
    logo_url: str = ""


@strawberry.input
class CreateServiceInput:
    name: str
    service_type: ZenMLServiceTypeInput
    service_source: str = strawberry.field(description="The service implementation's class path.")
    admin_state: ZenMLServiceState | None = None
    config: JSON = strawberry.field(default_factory=dict)
    labels: JSON | None = None
    status: JSON | None = None
    endpoint: JSON | None = None
    prediction_url: str | None = None
    health_check_url: str | None = None
    model_version: strawberry.ID | None = None
    pipeline_run: strawberry.ID | None = None


@strawberry.input(description="Fields left out stay as they are.")
class UpdateServiceInput:
    name: str | None = strawberry.UNSET
    admin_state: ZenMLServiceState | None = strawberry.UNSET
    service_source: str | None = strawberry.UNSET
    labels: JSON | None = strawberry.UNSET
    status: JSON | None = strawberry.UNSET
    endpoint: JSON | None = strawberry.UNSET
    prediction_url: str | None = strawberry.UNSET
    health_check_url: str | None = strawberry.UNSET
    model_version: strawberry.ID | None = strawberry.UNSET


def _wire_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _references(body: dict[str, Any]) -> dict[str, Any]:
    """Graph ids of related objects become ZenML ``*_id`` fields."""
    for field, type_name in (("model_version", "ZenMLModelVersion"), ("pipeline_run", "ZenMLPipelineRun")):
        if field in body:
            value = body.pop(field)
            body[f"{field}_id"] = zenml_id(value, type_name) if value is not None else None
    return body


@strawberry.type
class ZenMLMutation:
    @strawberry.mutation(description="Set a step run's status or end time (ZenML PUT /steps/{id}).")
    async def update_step_run(self, info: Info, id: strawberry.ID, input: UpdateStepRunInput) -> ZenMLStepRun:
        update = {
            key: _wire_value(value)
            for key, value in (("status", input.status), ("end_time", input.end_time))
            if value is not None
        }
        if not update:
            raise UserInputError("give at least one of status, endTime")
        record = await loaders(info).client.update_step_run(zenml_id(id, "ZenMLStepRun"), update)
        return ZenMLStepRun(record=record)

    @strawberry.mutation(description="Register a service (ZenML POST /services).")
    async def create_service(self, info: Info, input: CreateServiceInput) -> ZenMLService:
        body = {key: _wire_value(value) for key, value in vars(input).items() if value is not None}
        body["service_type"] = vars(input.service_type)
        record = await loaders(info).client.create_service(_references(body))
        return ZenMLService(record=record)

    @strawberry.mutation(description="Change a service (ZenML PUT /services/{id}).")
    async def update_service(self, info: Info, id: strawberry.ID, input: UpdateServiceInput) -> ZenMLService:
        body = {key: _wire_value(value) for key, value in vars(input).items() if value is not strawberry.UNSET}
        if not body:
            raise UserInputError("give at least one field to change")
        record = await loaders(info).client.update_service(zenml_id(id, "ZenMLService"), _references(body))
        return ZenMLService(record=record)

    @strawberry.mutation(description="Delete a service; returns it as it was.")
    async def delete_service(self, info: Info, id: strawberry.ID) -> ZenMLService:
        service_id = zenml_id(id, "ZenMLService")
        record = await load(info, wire.SERVICES, service_id, hydrated=True)
        await loaders(info).client.delete_service(service_id)
        return ZenMLService(record=record)
