import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { type IStatefulSet, StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { type ISecret, Secret } from 'kubernetes-models/v1/Secret';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { ASSUMED_POD_PIDS_LIMIT, CHECKS, collectManifests, listenPortOf } from './manifest-checks.js';
import { indexKubernetesModels, type KubeObject, loadManifestDocuments, type ManifestDocument, modelFor, readDockerEntrypoint } from './manifests.js';

const MANIFEST_DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const DOCKERFILE = fileURLToPath(new URL('../../docker/Dockerfile', import.meta.url));

const documents = loadManifestDocuments(MANIFEST_DIR);
const initEntrypoint = readDockerEntrypoint(DOCKERFILE);
const models = indexKubernetesModels();

describe('deploy/kubernetes: every document against its Kubernetes schema', () => {
  it('finds the documents and the models', () => {
    expect(documents.length).toBeGreaterThan(0);
    // Far fewer would mean the package's layout changed and the index missed kinds.
    expect(models.size).toBeGreaterThan(100);
  });

  it.each(documents)('$where', ({ object }) => {
    const Model = modelFor(models, object);
    expect(() => new Model(object).validate()).not.toThrow();
  });

  it('fails a kind that kubernetes-models does not know, rather than skipping it', () => {
    const [monitor] = loadDocumentsOf('apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n  name: metamcp\n');
    expect(monitor).toBeDefined();
    if (monitor) expect(() => modelFor(models, monitor)).toThrow(/no PodMonitor in monitoring.coreos.com\/v1/);
    expect(() => modelFor(models, { apiVersion: 'apps/v1', kind: 'Deploymnet' })).toThrow(/no Deploymnet/);
    expect(() => loadDocumentsOf('just: a map\n')).toThrow(/not a Kubernetes object/);
  });

  it('reads YAML as kubectl does (1.1): an unquoted on is a boolean, which the schema refuses as an env value', () => {
    const [object] = loadDocumentsOf(`apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: i
      env:
        - name: METAMCP_INIT_GROUP
          value: on
`);
    expect(object).toBeDefined();
    if (object) expect(() => new (modelFor(models, object))(object).validate()).toThrow(/must be string/);
  });
});

describe('deploy/kubernetes: what the schemas cannot check', () => {
  const manifests = collectManifests(documents, initEntrypoint);

  it.each(CHECKS)('$title', ({ run }) => {
    expect(run(manifests)).toEqual([]);
  });
});

// Each check, shown to fail: one realistic mistake per case, made on a copy of the manifests.
type Breakage = { check: string; mistake: string; make: (objects: KubeObject[]) => void; expected: RegExp };

const BREAKAGES: readonly Breakage[] = [
  {
    check: 'no two documents',
    mistake: 'the Secret twice',
    expected: /^an added document declares the object secret\.yaml #1/,
    make: (objects) => objects.push(structuredClone(secret(objects))),
  },
  {
    check: "every workload's selector",
    mistake: 'a pod label renamed',
    expected: /Deployment metamcp\).*selector does not match its pod template/,
    make: (objects) => {
      podLabels(deployment(objects))['app.kubernetes.io/name'] = 'meta-mcp';
    },
  },
  {
    check: 'every Service selects',
    mistake: 'a selector on a label both workloads share',
    expected: /matches metamcp\.yaml #1 .* and postgres\.yaml #2 .*exactly one/,
    make: (objects) => {
      spec(service(objects, 'metamcp')).selector = { 'app.kubernetes.io/part-of': 'metamcp' };
    },
  },
  {
    check: 'every Service selects',
    mistake: 'a targetPort no container declares',
    expected: /port http targets web, which no container/,
    make: (objects) => {
      first(spec(service(objects, 'metamcp')).ports, 'Service port').targetPort = 'web';
    },
  },
  {
    check: "every StatefulSet's serviceName",
    mistake: 'serviceName of another Service',
    expected: /serviceName postgres names no Service/,
    make: (objects) => {
      defined(statefulSet(objects).spec, 'spec').serviceName = 'postgres';
    },
  },
  {
    check: "every StatefulSet's serviceName",
    mistake: 'a governing Service with a cluster IP',
    expected: /is not headless/,
    make: (objects) => {
      delete spec(service(objects, 'metamcp-postgres')).clusterIP;
    },
  },
  {
    check: 'every probe port',
    mistake: 'a liveness probe on a misspelt port name',
    expected: /liveness probe port metric is not a port it declares/,
    make: (objects) => {
      defined(appContainer(objects).livenessProbe?.httpGet, 'httpGet').port = 'metric';
    },
  },
  {
    check: 'every probe port',
    mistake: 'a startup probe on an undeclared port number',
    expected: /startup probe port 12009 is not a port it declares/,
    make: (objects) => {
      defined(appContainer(objects).startupProbe?.tcpSocket, 'tcpSocket').port = 12009;
    },
  },
  {
    check: 'every prometheus.io/port',
    mistake: 'prometheus.io/port on a port nobody declares',
    expected: /prometheus\.io\/port 9465 is not a port its containers declare/,
    make: (objects) => {
      podAnnotations(deployment(objects))['prometheus.io/port'] = '9465';
    },
  },
  {
    check: 'every prometheus.io/port',
    mistake: 'prometheus.io/port as a port name',
    expected: /prometheus\.io\/port is "metrics", not a port number/,
    make: (objects) => {
      podAnnotations(deployment(objects))['prometheus.io/port'] = 'metrics';
    },
  },
  {
    check: 'every Secret and ConfigMap',
    mistake: 'a secretKeyRef to a key the Secret lacks',
    expected: /Secret metamcp-secrets has no key DATABASE_URI/,
    make: (objects) => {
      defined(envVar(appContainer(objects), 'DATABASE_URL').valueFrom?.secretKeyRef, 'secretKeyRef').key = 'DATABASE_URI';
    },
  },
  {
    check: 'every Secret and ConfigMap',
    mistake: 'a secretKeyRef to a Secret not in the manifests',
    expected: /Secret postgres-secrets is not in the manifests/,
    make: (objects) => {
      defined(envVar(postgresContainer(objects), 'POSTGRES_PASSWORD').valueFrom?.secretKeyRef, 'secretKeyRef').name = 'postgres-secrets';
    },
  },
  {
    check: 'every Secret and ConfigMap',
    mistake: 'an envFrom ConfigMap not in the manifests',
    expected: /ConfigMap metamcp-config is not in the manifests/,
    make: (objects) => {
      appContainer(objects).envFrom = [{ configMapRef: { name: 'metamcp-config' } }];
    },
  },
  {
    check: 'every volumeMount',
    mistake: 'a mount of a volume nobody declares',
    expected: /mounts pgdata, which is no volume/,
    make: (objects) => {
      first(postgresContainer(objects).volumeMounts, 'volumeMount').name = 'pgdata';
    },
  },
  {
    check: 'metamcp-init is the entrypoint',
    mistake: 'the init started through npx',
    expected: /command \["npx".*is not the image's ENTRYPOINT/,
    make: (objects) => {
      appContainer(objects).command = ['npx', 'metamcp-init', '--'];
    },
  },
  {
    check: 'metamcp-init is the entrypoint',
    mistake: 'a shared process namespace',
    expected: /shareProcessNamespace/,
    make: (objects) => {
      appPod(objects).shareProcessNamespace = true;
    },
  },
  {
    check: 'metamcp-init is the entrypoint',
    mistake: 'no container runs the init',
    expected: /^no container runs metamcp-init$/,
    make: (objects) => {
      const container = appContainer(objects);
      delete container.command;
      container.env = (container.env ?? []).filter((variable) => !variable.name.startsWith('METAMCP_INIT_'));
    },
  },
  {
    check: 'METAMCP_INIT_METRICS_LISTEN',
    mistake: 'a listen port the container does not declare',
    expected: /listens for metrics on 9465 but declares no such port/,
    make: (objects) => {
      envVar(appContainer(objects), 'METAMCP_INIT_METRICS_LISTEN').value = '0.0.0.0:9465';
    },
  },
  {
    check: 'METAMCP_INIT_METRICS_LISTEN',
    mistake: 'a host name, which the init refuses',
    expected: /'localhost:9464' is not a numeric ip:port/,
    make: (objects) => {
      envVar(appContainer(objects), 'METAMCP_INIT_METRICS_LISTEN').value = 'localhost:9464';
    },
  },
  {
    check: 'liveness and readiness',
    mistake: 'an exec readiness probe',
    expected: /the readiness probe is exec/,
    make: (objects) => {
      appContainer(objects).readinessProbe = { exec: { command: ['node', '/opt/metamcp-init/metamcp-init.cjs', 'status'] } };
    },
  },
  {
    check: 'liveness and readiness',
    mistake: "a liveness probe on MetaMCP's own port",
    expected: /liveness probe port http is not the metrics listen port 9464/,
    make: (objects) => {
      defined(appContainer(objects).livenessProbe?.httpGet, 'httpGet').port = 'http';
    },
  },
  {
    check: 'liveness and readiness',
    mistake: 'a probe path other than /healthz',
    expected: /readiness probe asks \/health, not \/healthz/,
    make: (objects) => {
      defined(appContainer(objects).readinessProbe?.httpGet, 'httpGet').path = '/health';
    },
  },
  {
    check: 'the Prometheus annotations of the init pod',
    mistake: 'the metrics path misspelt',
    expected: /prometheus\.io\/path is "\/metric", not \/metrics/,
    make: (objects) => {
      podAnnotations(deployment(objects))['prometheus.io/path'] = '/metric';
    },
  },
  {
    check: 'the Prometheus annotations of the init pod',
    mistake: 'the scrape annotation on the app port',
    expected: /prometheus\.io\/port is "12008", not the metrics listen port 9464/,
    make: (objects) => {
      podAnnotations(deployment(objects))['prometheus.io/port'] = '12008';
    },
  },
  {
    check: 'terminationGracePeriodSeconds',
    mistake: 'a termination grace equal to the init grace',
    expected: /terminationGracePeriodSeconds 10 is not longer than METAMCP_INIT_GRACE 10s/,
    make: (objects) => {
      appPod(objects).terminationGracePeriodSeconds = 10;
    },
  },
  {
    check: 'terminationGracePeriodSeconds',
    mistake: "an init grace above Kubernetes' default 30 s, with no termination grace set",
    expected: /terminationGracePeriodSeconds 30 is not longer than METAMCP_INIT_GRACE 45s/,
    make: (objects) => {
      delete appPod(objects).terminationGracePeriodSeconds;
      envVar(appContainer(objects), 'METAMCP_INIT_GRACE').value = '45s';
    },
  },
  {
    check: 'METAMCP_INIT_PIDS_MAX, where set',
    mistake: 'a limit with a unit, which the init refuses',
    expected: /container metamcp: METAMCP_INIT_PIDS_MAX "1k" is not a whole number of at least 1/,
    make: (objects) => {
      envVar(appContainer(objects), 'METAMCP_INIT_PIDS_MAX').value = '1k';
    },
  },
  {
    check: 'METAMCP_INIT_PIDS_MAX, where set',
    mistake: "the kubelet's -1 (no limit) copied in",
    expected: /METAMCP_INIT_PIDS_MAX "-1" is not a whole number of at least 1/,
    make: (objects) => {
      envVar(appContainer(objects), 'METAMCP_INIT_PIDS_MAX').value = '-1';
    },
  },
  {
    check: "the pod's podPidsLimit is declared once",
    mistake: 'METAMCP_INIT_PIDS_MAX raised, the assumed podPidsLimit not',
    expected: /METAMCP_INIT_PIDS_MAX 2047 is more than the podPidsLimit 1024 the pod assumes/,
    make: (objects) => {
      envVar(appContainer(objects), 'METAMCP_INIT_PIDS_MAX').value = '2047';
    },
  },
  {
    check: "the pod's podPidsLimit is declared once",
    mistake: 'the assumed podPidsLimit lowered, METAMCP_INIT_PIDS_MAX not',
    expected: /METAMCP_INIT_PIDS_MAX 1023 is more than the podPidsLimit 512 the pod assumes/,
    make: (objects) => {
      podAnnotations(deployment(objects))[ASSUMED_POD_PIDS_LIMIT] = '512';
    },
  },
  {
    check: "the pod's podPidsLimit is declared once",
    mistake: 'the assumed podPidsLimit annotation dropped',
    expected: /METAMCP_INIT_PIDS_MAX is set, but the pod has no metamcp-init\/assumed-pod-pids-limit annotation/,
    make: (objects) => {
      delete podAnnotations(deployment(objects))[ASSUMED_POD_PIDS_LIMIT];
    },
  },
  {
    check: "the pod's podPidsLimit is declared once",
    mistake: 'the assumed podPidsLimit written with a unit',
    expected: /metamcp-init\/assumed-pod-pids-limit "1Ki" is not a whole number/,
    make: (objects) => {
      podAnnotations(deployment(objects))[ASSUMED_POD_PIDS_LIMIT] = '1Ki';
    },
  },
  {
    check: "the pod's podPidsLimit is declared once",
    mistake: 'METAMCP_INIT_PIDS_MAX dropped, the podPidsLimit still assumed',
    expected: /assumes podPidsLimit 1024, but sets no METAMCP_INIT_PIDS_MAX/,
    make: (objects) => {
      const container = appContainer(objects);
      container.env = (container.env ?? []).filter((variable) => variable.name !== 'METAMCP_INIT_PIDS_MAX');
    },
  },
  {
    check: "the app's DATABASE_URL",
    mistake: 'a password changed in one place only',
    expected: /DATABASE_URL says POSTGRES_PASSWORD "CHANGE-ME-postgres-password", postgres\.yaml #2 .* starts with "another-password"/,
    make: (objects) => {
      defined(secret(objects).stringData, 'stringData').POSTGRES_PASSWORD = 'another-password';
    },
  },
  {
    check: "the app's DATABASE_URL",
    mistake: 'the compose file host name',
    expected: /POSTGRES_HOST postgres is not DATABASE_URL's host metamcp-postgres/,
    make: (objects) => {
      envVar(appContainer(objects), 'POSTGRES_HOST').value = 'postgres';
    },
  },
];

describe('deploy/kubernetes: each check catches its mistake', () => {
  it('has a breakage for every check', () => {
    const broken = new Set(BREAKAGES.map((breakage) => checkNamed(breakage.check).title));
    expect(CHECKS.filter((check) => !broken.has(check.title)).map((check) => check.title)).toEqual([]);
  });

  it.each(BREAKAGES)('$check…: $mistake', ({ check, make, expected }) => {
    const objects = documents.map((document) => structuredClone(document.object));
    make(objects);
    const broken: ManifestDocument[] = objects.map((object, index) => ({ where: documents[index]?.where ?? 'an added document', object }));
    expect(checkNamed(check).run(collectManifests(broken, initEntrypoint))).toContainEqual(expect.stringMatching(expected));
  });

  it('reads listen addresses as the init takes them', () => {
    expect(listenPortOf('0.0.0.0:9464')).toBe(9464);
    expect(listenPortOf('[::]:9464')).toBe(9464);
    expect(listenPortOf('::9464')).toMatch(/not a numeric/);
    expect(listenPortOf('metamcp:9464')).toMatch(/not a numeric/);
  });
});

function checkNamed(prefix: string): (typeof CHECKS)[number] {
  const matching = CHECKS.filter((check) => check.title.startsWith(prefix));
  return defined(matching.length === 1 ? matching[0] : undefined, `exactly one check titled "${prefix}…"`);
}

function loadDocumentsOf(yaml: string): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  try {
    writeFileSync(join(dir, 'one.yaml'), yaml);
    return loadManifestDocuments(dir).map((document) => document.object);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the manifests have no ${what}`);
  return value;
}

function first<T>(list: T[] | undefined, what: string): T {
  return defined(list?.[0], what);
}

function deployment(objects: KubeObject[]): IDeployment {
  return defined(
    objects.filter(Deployment.is).find((object) => object.metadata?.name === 'metamcp'),
    'Deployment metamcp',
  );
}

function statefulSet(objects: KubeObject[]): IStatefulSet {
  return defined(objects.find(StatefulSet.is), 'StatefulSet');
}

function service(objects: KubeObject[], name: string): IService {
  return defined(
    objects.filter(Service.is).find((object) => object.metadata?.name === name),
    `Service ${name}`,
  );
}

function secret(objects: KubeObject[]): ISecret {
  return defined(objects.find(Secret.is), 'Secret');
}

function spec(object: IService): NonNullable<IService['spec']> {
  return defined(object.spec, 'Service spec');
}

function podTemplate(object: IDeployment): NonNullable<NonNullable<IDeployment['spec']>['template']> {
  return defined(object.spec?.template, 'pod template');
}

function podLabels(object: IDeployment): Record<string, string> {
  return defined(podTemplate(object).metadata?.labels, 'pod labels');
}

function podAnnotations(object: IDeployment): Record<string, string> {
  return defined(podTemplate(object).metadata?.annotations, 'pod annotations');
}

function appPod(objects: KubeObject[]): IPodSpec {
  return defined(podTemplate(deployment(objects)).spec, 'pod spec');
}

function appContainer(objects: KubeObject[]): IContainer {
  return first(appPod(objects).containers, 'MetaMCP container');
}

function postgresContainer(objects: KubeObject[]): IContainer {
  return first(statefulSet(objects).spec?.template.spec?.containers, 'Postgres container');
}

function envVar(container: IContainer, name: string): IEnvVar {
  return defined(
    container.env?.find((variable) => variable.name === name),
    `${name} in ${container.name}`,
  );
}
