// GraphQL Mesh compose config for the benchmark's peer: the ZenML emulator's
// REST API (described by zenml.openapi.yaml) as one OpenAPI subgraph, with the
// relations the canonical run query walks added by hand.
//
//   npx mesh-compose -o supergraph.graphql      (python -m benchmarks.peer compose)
//
// The endpoint is read by the gateway at run time from ZENML_URL (the
// emulator's port changes from run to run), so one composed supergraph serves
// every run.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('ZenML', {
        source: './zenml.openapi.yaml',
        endpoint: '{env.ZENML_URL}',
      }),
    },
  ],
  // Batched joins (`keyField` + `keysArg`): every root's key in one execution
  // level goes into one `..._by_ids` call (a DataLoader per field), and
  // `valueKeyField` matches the page's items back to the keys by id (ZenML
  // returns `oneof` results in `sort_by` order, unknown ids missing).
  // `size: 1000` because a ZenML page holds 20 items by default.
  //
  // StepRunResponse.outputs, the one relation whose keys are not at a fixed
  // path (body.outputs maps output names to lists of artifact versions), is
  // declared and resolved in gateway.config.ts.
  additionalTypeDefs: /* GraphQL */ `
    extend type PipelineRunResponse {
      "The run's steps: GET /api/v1/steps?pipeline_run_id={id}&sort_by=created&size={size}."
      steps(size: Int = 1000): Page_StepRunResponse_
        @resolveTo(
          sourceName: "ZenML"
          sourceTypeName: "Query"
          sourceFieldName: "list_steps"
          requiredSelectionSet: "{ id }"
          sourceArgs: { pipeline_run_id: "{root.id}", size: "{args.size}", sort_by: "created" }
        )
    }

    extend type StepRunResponse {
      "The step's user, hydrated (with email): GET /api/v1/users?id=oneof:[...]&hydrate=true, batched."
      user: UserResponse
        @resolveTo(
          sourceName: "ZenML"
          sourceTypeName: "Query"
          sourceFieldName: "list_users_by_ids"
          requiredSelectionSet: "{ body { user { id } } }"
          keyField: "body.user.id"
          keysArg: "ids"
          additionalArgs: { hydrate: true, size: 1000 }
          result: "items"
          valueKeyField: "id"
        )
    }

    extend type ArtifactVersionResponse {
      "The step run that wrote this version: GET /api/v1/steps?id=oneof:[...], batched."
      producer: StepRunResponse
        @resolveTo(
          sourceName: "ZenML"
          sourceTypeName: "Query"
          sourceFieldName: "list_steps_by_ids"
          requiredSelectionSet: "{ metadata { producer_step_run_id } }"
          keyField: "metadata.producer_step_run_id"
          keysArg: "ids"
          additionalArgs: { size: 1000 }
          result: "items"
          valueKeyField: "id"
        )
    }
  `,
});
