"""Abacus.AI's write (seed 002): run a pipeline, returning the new version."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from mlgraph.graph.abacus.types import AbacusPipelineVersion, abacus_id, loaders
from mlgraph.graph.errors import UserInputError


@strawberry.input(description="A PythonFunctionArgument: a pipeline variable and its value for this run.")
class AbacusVariableInput:
    name: str
    variable_type: str = strawberry.field(description="STRING, INTEGER, FLOAT, BOOLEAN, JSON, DATASET_ID …")
    value: JSON | None = None
    pipeline_variable: str | None = None
    is_required: bool | None = None


@strawberry.type
class AbacusMutation:
    @strawberry.mutation(description="Run an Abacus.AI pipeline; returns the new version, PENDING at first.")
    async def run_abacus_pipeline(
        self, info: Info, pipeline_id: strawberry.ID, variable_mappings: list[AbacusVariableInput] | None = None
    ) -> AbacusPipelineVersion:
        pipeline = abacus_id(pipeline_id, "AbacusPipeline")
        mappings = None
        if variable_mappings is not None:
            if any(not mapping.name.strip() for mapping in variable_mappings):
                raise UserInputError("every variable mapping needs a name")
            mappings = [
                {
                    key: value
                    for key, value in {
                        "name": m.name,
                        "variableType": m.variable_type,
                        "value": m.value,
                        "pipelineVariable": m.pipeline_variable,
                        "isRequired": m.is_required,
                    }.items()
                    if value is not None
                }
                for m in variable_mappings
            ]
        record = await loaders(info).client.run_pipeline(pipeline, mappings)
        loaders(info).prime_versions([record])
        return AbacusPipelineVersion(record=record)
