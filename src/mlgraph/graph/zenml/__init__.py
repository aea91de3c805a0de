"""ZenML in the graph: step runs, pipeline runs, artifacts, models, services."""
