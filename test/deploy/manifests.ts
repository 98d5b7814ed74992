import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as kubernetesModels from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';

/** One YAML document of a manifest file, as kubectl reads it. */
export type ManifestDocument = { where: string; object: KubeObject };

/** What every Kubernetes object has; the rest is checked by its model's schema. */
export type KubeObject = { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } };

/** A kubernetes-models class: its static apiVersion and kind, and a schema check. */
export type ModelClass = { apiVersion: string; kind: string; new (data: unknown): { validate(): void } };

// The extensions `kubectl apply -f <dir>` reads.
const MANIFEST_FILE = /\.(ya?ml|json)$/;

/**
 * Every document of every manifest file in dir, in file order. YAML 1.1, as kubectl parses
 * it: an unquoted `on` or `yes` is a boolean there, and the schema must see that. Empty
 * documents (a stray `---`) are dropped, as kubectl drops them; anything else without an
 * apiVersion and a kind throws.
 */
export function loadManifestDocuments(dir: string): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  for (const file of readdirSync(dir)
    .filter((name) => MANIFEST_FILE.test(name))
    .sort()) {
    const parsed = parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { version: '1.1' });
    if (!Array.isArray(parsed)) continue;
    parsed.forEach((document, index) => {
      const where = `${file} #${index + 1}`;
      const [error] = document.errors;
      if (error) throw new Error(`${where}: ${error.message}`);
      const object: unknown = document.toJS();
      if (object === null || object === undefined) return;
      if (!isKubeObject(object)) throw new Error(`${where}: not a Kubernetes object (no apiVersion and kind)`);
      documents.push({ where: `${where} (${object.kind} ${object.metadata?.name ?? '<no name>'})`, object });
    });
  }
  return documents;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const { apiVersion, kind } = value as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string';
}

/**
 * Every top-level kind kubernetes-models has, keyed `apiVersion kind` from each class's own
 * static fields, so a document is checked by exactly the model its apiVersion and kind
 * name. The package's root exports a namespace per API group with one per version inside
 * (`apps.v1`), and the core group's version directly (`v1`); only top-level kinds have a
 * static apiVersion and kind.
 */
export function indexKubernetesModels(): Map<string, ModelClass> {
  const models = new Map<string, ModelClass>();
  const visit = (namespace: object): void => {
    for (const exported of Object.values(namespace)) {
      if (isModelClass(exported)) models.set(modelKey(exported.apiVersion, exported.kind), exported);
      else if (typeof exported === 'object' && exported !== null) visit(exported);
    }
  };
  visit(kubernetesModels);
  return models;
}

/** The model for a document, or an error naming what no model knows: an unknown kind fails. */
export function modelFor(models: ReadonlyMap<string, ModelClass>, object: KubeObject): ModelClass {
  const model = models.get(modelKey(object.apiVersion, object.kind));
  if (!model) throw new Error(`kubernetes-models has no ${object.kind} in ${object.apiVersion}: a custom resource, a typo, or a removed API version`);
  return model;
}

function modelKey(apiVersion: string, kind: string): string {
  return `${apiVersion} ${kind}`;
}

function isModelClass(value: unknown): value is ModelClass {
  if (typeof value !== 'function') return false;
  const { apiVersion, kind } = value as unknown as Record<string, unknown>;
  return typeof apiVersion === 'string' && typeof kind === 'string';
}

/** The exec-form ENTRYPOINT of a Dockerfile's last stage (the last ENTRYPOINT line). */
export function readDockerEntrypoint(dockerfile: string): string[] {
  const lines = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .filter((line) => /^ENTRYPOINT\s/i.test(line));
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`${dockerfile} has no ENTRYPOINT`);
  const entrypoint: unknown = JSON.parse(last.replace(/^ENTRYPOINT\s+/i, ''));
  if (!Array.isArray(entrypoint) || !entrypoint.every((arg) => typeof arg === 'string')) throw new Error(`${dockerfile}: ENTRYPOINT is not in exec form`);
  return entrypoint;
}
