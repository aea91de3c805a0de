"""A ZenML run's DAG: every step its snapshot planned, started or not.

ZenML makes a step run only when a step starts. A step that waited for one
that failed, or whose run ended first, exists only in the run's snapshot
(``step_configurations``, keyed by invocation id, which names the step run
too). The DAG joins the two: step runs linked by their ``parent_step_ids``,
never-started steps by the names their spec waits for.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgraph.backends import zenml as wire
from mlgraph.graph.interfaces import ExecutionStatus

#: Step run statuses after which the steps waiting for it never start.
_BLOCKING = frozenset({"failed", "stopped"})


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step of a run's snapshot that never started: there is no step run."""

    run_id: str
    name: str
    configuration: wire.ZenMLStepConfiguration

    @property
    def id(self) -> str:
        """Its native id in the graph: the run's id and the step's name."""
        return f"{self.run_id}/{self.name}"

    @property
    def created(self) -> None:
        """ZenML made no record of it."""
        return None


Vertex = wire.ZenMLStepRun | PlannedStep


class RunDag:
    """The steps of one run, started or not, with their edges both ways.

    A planned step never starts once a step it waits for, however far up,
    failed or stopped (``blocked``), or once its run has ended; until then
    it is queued. Whether the run has ended is set by whoever reads it, and
    only when a planned step is not blocked (``waits_on_run``).
    """

    def __init__(self, run_id: str, steps: list[wire.ZenMLStepRun], snapshot: wire.ZenMLSnapshot | None) -> None:
        self.run_id = run_id
        latest = {step.name: step for step in steps}  # a retried step's last attempt
        # A dynamic pipeline's snapshot does not say which steps its runs make.
        plan = snapshot.step_configurations if snapshot is not None and not snapshot.is_dynamic else {}
        planned = [PlannedStep(run_id, name, configuration) for name, configuration in plan.items() if name not in latest]
        self.vertices: list[Vertex] = [*steps, *planned]
        self.planned = {step.name: step for step in planned}
        by_id = {step.id: step for step in steps}
        by_name: dict[str, Vertex] = {**latest, **self.planned}
        self._upstream: dict[str, list[Vertex]] = {
            step.id: [by_id[parent] for parent in step.parent_step_ids or [] if parent in by_id] for step in steps
        }
        for step in planned:
            waits_for = step.configuration.spec.upstream_steps
            self._upstream[step.id] = [by_name[name] for name in waits_for if name in by_name]
        self._downstream: dict[str, list[Vertex]] = {vertex.id: [] for vertex in self.vertices}
        for vertex in self.vertices:
            for parent in self._upstream[vertex.id]:
                self._downstream[parent.id].append(vertex)
        self.blocked = self._blocked(steps)
        self.run_ended: bool | None = None

    def _blocked(self, steps: list[wire.ZenMLStepRun]) -> set[str]:
        """Planned steps below a failed or stopped step run."""
        blocked: set[str] = set()
        frontier: list[Vertex] = [step for step in steps if step.status in _BLOCKING]
        while frontier:
            for below in self._downstream[frontier.pop().id]:
                if isinstance(below, PlannedStep) and below.id not in blocked:
                    blocked.add(below.id)
                    frontier.append(below)
        return blocked

    @property
    def waits_on_run(self) -> bool:
        """Whether a planned step's status depends on the run having ended."""
        return any(step.id not in self.blocked for step in self.planned.values())

    def status(self, step: PlannedStep) -> ExecutionStatus:
        if step.id in self.blocked or self.run_ended:
            return ExecutionStatus.SKIPPED
        return ExecutionStatus.QUEUED

    def upstream(self, vertex_id: str) -> list[Vertex]:
        return self._upstream.get(vertex_id, [])

    def downstream(self, vertex_id: str) -> list[Vertex]:
        return self._downstream.get(vertex_id, [])
