// Hive Gateway config for the benchmark's peer (python -m benchmarks.peer).
//
//   ZENML_URL=http://127.0.0.1:<emulator port> \
//     npx hive-gateway supergraph supergraph.graphql -c gateway.config.ts --host 127.0.0.1 --port <port>
//
// One relation of the canonical query cannot be declared with @resolveTo in
// mesh.config.ts: a step's outputs. ZenML embeds them as `body.outputs`, a map
// from output name to a list of (thin) artifact versions, which the OpenAPI
// subgraph can only type as JSON; the producer step of a version is in its
// hydrated record only (`metadata.producer_step_run_id`). So the field is
// declared here and resolved by the very resolver @resolveTo builds (Mesh's
// `resolveAdditionalResolversWithoutImport`, batched with keyField/keysArg),
// given the flattened list of the step's output version ids as its key:
// every step's outputs at one level become one
// GET /api/v1/artifact_versions?id=oneof:[...]&hydrate=true&size=1000.
import { defineConfig } from '@graphql-hive/gateway';
import { resolveAdditionalResolversWithoutImport } from '@graphql-mesh/utils';

const OUTPUT_IDS = '__outputVersionIds';

const hydratedVersions = resolveAdditionalResolversWithoutImport({
  targetTypeName: 'StepRunResponse',
  targetFieldName: 'outputs',
  sourceName: 'ZenML',
  sourceTypeName: 'Query',
  sourceFieldName: 'list_artifact_versions_by_ids',
  keyField: OUTPUT_IDS,
  keysArg: 'ids',
  additionalArgs: { hydrate: true, size: 1000 },
  result: 'items',
  valueKeyField: 'id',
} as any) as any;
const resolveVersions = hydratedVersions.StepRunResponse.outputs.resolve;

function outputVersionIds(outputs: unknown): string[] {
  const ids: string[] = [];
  if (outputs && typeof outputs === 'object') {
    for (const versions of Object.values(outputs as Record<string, unknown>)) {
      for (const version of Array.isArray(versions) ? versions : [versions]) {
        const id = (version as { id?: unknown } | null)?.id;
        if (typeof id === 'string') ids.push(id);
      }
    }
  }
  return ids;
}

export const gatewayConfig = defineConfig({
  additionalTypeDefs: /* GraphQL */ `
    extend type StepRunResponse {
      "The artifact versions the step wrote, hydrated (with their producer step id), batched."
      outputs: [ArtifactVersionResponse]
    }
  `,
  additionalResolvers: {
    StepRunResponse: {
      outputs: {
        selectionSet: '{ body { outputs } }',
        async resolve(root: any, args: any, context: any, info: any) {
          root[OUTPUT_IDS] = outputVersionIds(root?.body?.outputs);
          // The field is a list, so the by-key matching gives each key the
          // list of items with that id; the key is a list too (one per
          // output), so this is a list of one-item lists.
          const matched = await resolveVersions(root, args, context, info);
          return Array.isArray(matched) ? matched.flat() : matched;
        },
      },
    },
  },
});
