// Shared by the deploy/k8s tests: render a kustomization with the real `kubectl kustomize`
// (kustomize v5 inside kubectl; offline, no cluster) and check every rendered object's schema.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../devkit/root';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

export const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'k8s');
export const OVERLAYS = ['nginx-gateway', 'envoy-gateway', 'ingress-nginx-legacy'] as const;

/** kubectl is on the machine image (Google Cloud CLI's kubectl, kustomize v5); CI must render. */
export const KUBECTL = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!KUBECTL && process.env.CI) throw new Error('kubectl is required in CI: deploy/k8s is checked as `kubectl kustomize` renders it');
if (!KUBECTL) console.warn('k8s tests: kubectl not installed; rendered-manifest checks SKIPPED');

/** `kubectl kustomize <dir>` (relative to deploy/k8s) as objects. */
export function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(K8S_DIR, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

export const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
export function one(docs: Obj[], kind: string, name?: string): Obj {
  const found = byKind(docs, kind).filter((d) => name === undefined || d.metadata.name === name || d.metadata.name.startsWith(`${name}-`));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export interface SchemaResult {
  kind: string;
  name: string;
  checked: boolean;
  error: string | null;
}

/** kubernetes-models' validators (OpenAPI / Gateway API CRD schemas) over each object, in a child Node (ESM-only packages). */
export function validateWithModels(objects: Obj[]): SchemaResult[] {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'k8s-schema.mjs')], { input: JSON.stringify(objects), encoding: 'utf8', cwd: __dirname });
  if (r.status !== 0) throw new Error(`k8s-schema.mjs failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SchemaResult[];
}

/**
 * A minimal JSON-schema subset (type, properties, required, items, enum, additionalProperties
 * false), enough for the hand-written schemas of the Envoy Gateway kinds below.
 */
export interface MiniSchema {
  type: 'object' | 'array' | 'string' | 'boolean' | 'integer';
  properties?: Record<string, MiniSchema>;
  required?: string[];
  items?: MiniSchema;
  enum?: string[];
  pattern?: RegExp;
}
export function miniValidate(schema: MiniSchema, value: unknown, at = ''): string[] {
  const errors: string[] = [];
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (actual !== schema.type) return [`${at || '/'}: ${actual}, expected ${schema.type}`];
  if (schema.enum && !schema.enum.includes(value as string)) errors.push(`${at}: ${String(value)} not one of ${schema.enum.join(', ')}`);
  if (schema.pattern && !schema.pattern.test(value as string)) errors.push(`${at}: ${String(value)} does not match ${schema.pattern}`);
  if (schema.type === 'array') (value as unknown[]).forEach((v, i) => errors.push(...miniValidate(schema.items!, v, `${at}/${i}`)));
  if (schema.type === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${at}/${key}: required`);
    for (const [key, v] of Object.entries(obj)) {
      const sub = schema.properties?.[key];
      if (!sub) errors.push(`${at}/${key}: unknown field`);
      else errors.push(...miniValidate(sub, v, `${at}/${key}`));
    }
  }
  return errors;
}

const str: MiniSchema = { type: 'string' };
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const meta: MiniSchema = {
  type: 'object',
  required: ['name', 'namespace'],
  properties: { name: str, namespace: str, labels: { type: 'object' }, annotations: { type: 'object' } },
};
const targetRefs: MiniSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['group', 'kind', 'name'],
    properties: { group: str, kind: { type: 'string', enum: ['Gateway', 'HTTPRoute', 'GRPCRoute'] }, name: str, sectionName: str },
  },
};

/**
 * Hand-written schemas of the two Envoy Gateway kinds (gateway.envoyproxy.io/v1alpha1), limited to
 * the fields these manifests use, transcribed from Envoy Gateway's api/v1alpha1 Go types
 * (securitypolicy_types.go, ext_auth_types.go, clienttrafficpolicy_types.go, pathsettings_types.go).
 * No model package exists for them; unknown fields are errors here, unlike the CRD's own schema.
 */
export const ENVOY_GATEWAY_SCHEMAS: Record<string, MiniSchema> = {
  SecurityPolicy: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', enum: ['gateway.envoyproxy.io/v1alpha1'] },
      kind: str,
      metadata: meta,
      spec: {
        type: 'object',
        required: ['targetRefs', 'extAuth'],
        properties: {
          targetRefs,
          extAuth: {
            type: 'object',
            required: ['http'],
            properties: {
              failOpen: { type: 'boolean' },
              timeout: { type: 'string', pattern: /^\d+(ms|s|m|h)$/ },
              headersToExtAuth: { type: 'array', items: { type: 'string', pattern: HEADER_NAME } },
              http: {
                type: 'object',
                required: ['backendRefs'],
                properties: {
                  backendRefs: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['name', 'port'],
                      properties: {
                        name: str,
                        namespace: str,
                        port: { type: 'integer' },
                        kind: { type: 'string', enum: ['Service'] },
                        group: { type: 'string', enum: [''] },
                      },
                    },
                  },
                  path: { type: 'string', pattern: /^\// },
                  headersToBackend: { type: 'array', items: { type: 'string', pattern: HEADER_NAME } },
                },
              },
            },
          },
        },
      },
    },
  },
  ClientTrafficPolicy: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', enum: ['gateway.envoyproxy.io/v1alpha1'] },
      kind: str,
      metadata: meta,
      spec: {
        type: 'object',
        required: ['targetRefs'],
        properties: {
          targetRefs,
          path: {
            type: 'object',
            properties: {
              escapedSlashesAction: { type: 'string', enum: ['KeepUnchanged', 'RejectRequest', 'UnescapeForward', 'UnescapeRedirect'] },
              disableMergeSlashes: { type: 'boolean' },
            },
          },
          headers: {
            type: 'object',
            properties: {
              withUnderscoresAction: { type: 'string', enum: ['Allow', 'RejectRequest', 'DropHeader'] },
              earlyRequestHeaders: {
                type: 'object',
                properties: { remove: { type: 'array', items: { type: 'string', pattern: HEADER_NAME } }, set: { type: 'array' }, add: { type: 'array' } },
              },
            },
          },
        },
      },
    },
  },
};
