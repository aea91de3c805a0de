"""The committed SDL is the schema the code builds."""

from pathlib import Path

from mlgraph.graph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"


def test_schema_file_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == str(schema) + "\n", "schema drifted: run `mlgraph schema`"
