import { isIP } from 'node:net';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Pod } from 'kubernetes-models/v1/Pod';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { type ISecret, Secret } from 'kubernetes-models/v1/Secret';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { parseDurationMs, parseIntegerAtLeast } from '../../src/cli/parse-values.js';
import type { KubeObject, ManifestDocument } from './manifests.js';

type Labels = Record<string, string>;
type LabelSelector = NonNullable<NonNullable<IDeployment['spec']>['selector']>;
type Port = number | string;

/** A pod template and what owns it. */
export type Workload = {
  where: string;
  kind: string;
  name: string;
  namespace: string;
  /** Absent for a bare Pod, and for a Job whose selector Kubernetes generates. */
  selector?: LabelSelector;
  labels: Labels;
  annotations: Labels;
  pod: IPodSpec;
  /** A StatefulSet's volumeClaimTemplates: volumes its containers may mount. */
  claimTemplates: string[];
  /** A StatefulSet's governing Service. */
  serviceName?: string;
};

type Located<T> = { where: string; namespace: string; name: string; object: T };

/** The manifests, sorted by what the checks need. */
export type Manifests = {
  documents: readonly ManifestDocument[];
  workloads: Workload[];
  services: Located<IService>[];
  secrets: Located<ISecret>[];
  configMaps: Located<IConfigMap>[];
  /** docker/Dockerfile's ENTRYPOINT: the command that makes metamcp-init PID 1. */
  initEntrypoint: readonly string[];
};

/** A consistency check: the problems it finds, each a sentence naming where. */
export type Check = { title: string; run: (manifests: Manifests) => string[] };

// The init's defaults and the Kubernetes defaults the checks fall back on.
const INIT_DEFAULT_GRACE = '10s';
const KUBERNETES_DEFAULT_TERMINATION_GRACE_SECONDS = 30;
const POSTGRES_DEFAULT_PORT = 5432;
const INIT_VARIABLE = /^METAMCP_INIT_/;
/** The pod annotation that declares, in one place, the kubelet podPidsLimit the manifests assume. */
export const ASSUMED_POD_PIDS_LIMIT = 'metamcp-init/assumed-pod-pids-limit';
const PROMETHEUS = { scrape: 'prometheus.io/scrape', port: 'prometheus.io/port', path: 'prometheus.io/path' } as const;

export function collectManifests(documents: readonly ManifestDocument[], initEntrypoint: readonly string[]): Manifests {
  const manifests: Manifests = { documents, workloads: [], services: [], secrets: [], configMaps: [], initEntrypoint };
  for (const document of documents) {
    const { object, where } = document;
    const located = { where, namespace: namespaceOf(object), name: object.metadata?.name ?? '' };
    const workload = workloadOf(document);
    if (workload) manifests.workloads.push(workload);
    else if (Service.is(object)) manifests.services.push({ ...located, object });
    else if (Secret.is(object)) manifests.secrets.push({ ...located, object });
    else if (ConfigMap.is(object)) manifests.configMaps.push({ ...located, object });
  }
  return manifests;
}

function workloadOf({ object, where }: ManifestDocument): Workload | undefined {
  const owner = { where, kind: object.kind, name: object.metadata?.name ?? '', namespace: namespaceOf(object), claimTemplates: [] };
  if (Deployment.is(object) || ReplicaSet.is(object) || DaemonSet.is(object)) return withTemplate(owner, object.spec?.template, object.spec?.selector);
  if (StatefulSet.is(object)) {
    const claimTemplates = (object.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name ?? '');
    const workload = withTemplate({ ...owner, claimTemplates }, object.spec?.template, object.spec?.selector);
    return workload && { ...workload, ...(object.spec?.serviceName === undefined ? {} : { serviceName: object.spec.serviceName }) };
  }
  if (Job.is(object)) return withTemplate(owner, object.spec?.template, object.spec?.manualSelector ? object.spec.selector : undefined);
  if (CronJob.is(object)) return withTemplate(owner, object.spec?.jobTemplate.spec?.template, undefined);
  if (Pod.is(object)) return withTemplate(owner, { metadata: object.metadata ?? {}, ...(object.spec ? { spec: object.spec } : {}) }, undefined);
  return undefined;
}

function withTemplate(
  owner: Omit<Workload, 'labels' | 'annotations' | 'pod' | 'selector'>,
  template: IPodTemplateSpec | undefined,
  selector: LabelSelector | undefined,
): Workload | undefined {
  if (!template?.spec) return undefined;
  return {
    ...owner,
    ...(selector ? { selector } : {}),
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    pod: template.spec,
  };
}

function namespaceOf(object: KubeObject): string {
  // No namespace: the one `kubectl apply -n` names, the same for every such document.
  return object.metadata?.namespace ?? '';
}

function containersOf(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

function selects(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const value = labels[key];
    const holds =
      operator === 'In'
        ? value !== undefined && values.includes(value)
        : operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : operator === 'Exists'
            ? value !== undefined
            : operator === 'DoesNotExist'
              ? value === undefined
              : false;
    if (!holds) return false;
  }
  return true;
}

/** A numbered port must be a declared containerPort, a named one a declared port's name. */
function declaresPort(containers: readonly IContainer[], port: Port): boolean {
  return containers.some((container) =>
    (container.ports ?? []).some((declared) => (typeof port === 'number' ? declared.containerPort === port : declared.name === port)),
  );
}

/** The number a probe's port stands for in its container, or undefined when none declares it. */
function portNumber(container: IContainer, port: Port): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((declared) => declared.name === port)?.containerPort;
}

function probesOf(container: IContainer): Array<[string, IProbe]> {
  const probes: Array<[string, IProbe | undefined]> = [
    ['startup', container.startupProbe],
    ['readiness', container.readinessProbe],
    ['liveness', container.livenessProbe],
  ];
  return probes.filter((entry): entry is [string, IProbe] => entry[1] !== undefined);
}

function probePort(probe: IProbe): Port | undefined {
  return probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
}

function secretKeys(secret: ISecret): string[] {
  return [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
}

function configMapKeys(configMap: IConfigMap): string[] {
  return [...Object.keys(configMap.data ?? {}), ...Object.keys(configMap.binaryData ?? {})];
}

function find<T>(located: readonly Located<T>[], namespace: string, name: string | undefined): Located<T> | undefined {
  return located.find((entry) => entry.namespace === namespace && entry.name === (name ?? ''));
}

/** A container's variable as the container sees it: a literal, or a Secret's or ConfigMap's key. */
function envValue(manifests: Manifests, namespace: string, container: IContainer, name: string): string | undefined {
  const variable = container.env?.find((entry) => entry.name === name);
  if (!variable) return undefined;
  if (variable.value !== undefined) return variable.value;
  const secretRef = variable.valueFrom?.secretKeyRef;
  if (secretRef) {
    const secret = find(manifests.secrets, namespace, secretRef.name)?.object;
    // stringData wins: the API server writes it over data.
    const text = secret?.stringData?.[secretRef.key];
    if (text !== undefined) return text;
    const encoded = secret?.data?.[secretRef.key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  }
  const configMapRef = variable.valueFrom?.configMapKeyRef;
  if (configMapRef) return find(manifests.configMaps, namespace, configMapRef.name)?.object.data?.[configMapRef.key];
  return undefined;
}

/** The containers metamcp-init runs in: its ENTRYPOINT, or any METAMCP_INIT_* variable. */
function initContainersOf(manifests: Manifests): Array<{ workload: Workload; container: IContainer }> {
  return manifests.workloads.flatMap((workload) =>
    containersOf(workload.pod)
      .filter(
        (container) => sameArgs(container.command, manifests.initEntrypoint) || (container.env ?? []).some((variable) => INIT_VARIABLE.test(variable.name)),
      )
      .map((container) => ({ workload, container })),
  );
}

function sameArgs(args: readonly string[] | undefined, expected: readonly string[]): boolean {
  return args !== undefined && args.length === expected.length && args.every((arg, index) => arg === expected[index]);
}

/** The port of a numeric `ip:port` or `[ipv6]:port`, as --metrics-listen takes it, or why not. */
export function listenPortOf(address: string): number | string {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined || isIP(host) === 0) return `'${address}' is not a numeric ip:port`;
  return Number(match[3]);
}

/** Each init container with its METAMCP_INIT_METRICS_LISTEN port, or the problem with it. */
function metricsPorts(manifests: Manifests): Array<{ workload: Workload; container: IContainer; port: number | string }> {
  return initContainersOf(manifests).map(({ workload, container }) => {
    const listen = envValue(manifests, workload.namespace, container, 'METAMCP_INIT_METRICS_LISTEN');
    return { workload, container, port: listen === undefined ? 'METAMCP_INIT_METRICS_LISTEN is not set' : listenPortOf(listen) };
  });
}

/** Each init container's METAMCP_INIT_PIDS_MAX as the init reads it: a number, a problem, or undefined when unset. */
function pidsMaxes(manifests: Manifests): Array<{ workload: Workload; container: IContainer; pidsMax: number | string | undefined }> {
  return initContainersOf(manifests).map(({ workload, container }) => {
    const text = envValue(manifests, workload.namespace, container, 'METAMCP_INIT_PIDS_MAX');
    if (text === undefined) return { workload, container, pidsMax: undefined };
    try {
      return { workload, container, pidsMax: parseIntegerAtLeast(1)(text) }; // the init's own parser
    } catch {
      return { workload, container, pidsMax: `METAMCP_INIT_PIDS_MAX ${JSON.stringify(text)} is not a whole number of at least 1: the init refuses it` };
    }
  });
}

export const CHECKS: readonly Check[] = [
  {
    title: 'no two documents declare one object (the later would replace the earlier)',
    run: ({ documents }) => {
      const first = new Map<string, string>();
      const problems: string[] = [];
      for (const { object, where } of documents) {
        const key = `${object.apiVersion.split('/').slice(0, -1).join('/')} ${object.kind} ${namespaceOf(object)}/${object.metadata?.name ?? ''}`;
        const earlier = first.get(key);
        if (earlier === undefined) first.set(key, where);
        else problems.push(`${where} declares the object ${earlier} declares`);
      }
      return problems;
    },
  },
  {
    title: "every workload's selector selects its own pod template",
    run: ({ workloads }) =>
      workloads
        .filter((workload) => workload.selector && !selects(workload.selector, workload.labels))
        .map((workload) => `${workload.where}: its selector does not match its pod template's labels`),
  },
  {
    title: 'every Service selects the pods of exactly one workload, and its target ports are ports they declare',
    run: ({ services, workloads }) =>
      services.flatMap(({ where, namespace, object }) => {
        const selector = object.spec?.selector ?? {};
        if (object.spec?.type === 'ExternalName') return [];
        if (Object.keys(selector).length === 0) return [`${where}: no selector, so no pods behind it`];
        const backends = workloads.filter((workload) => workload.namespace === namespace && selects({ matchLabels: selector }, workload.labels));
        if (backends.length !== 1) {
          return [
            `${where}: its selector ${JSON.stringify(selector)} matches ${backends.length === 0 ? 'no workload' : backends.map((backend) => backend.where).join(' and ')}; it must match exactly one`,
          ];
        }
        return backends.flatMap((backend) =>
          (object.spec?.ports ?? [])
            .filter((port) => !declaresPort(containersOf(backend.pod), port.targetPort ?? port.port))
            .map((port) => `${where}: port ${port.name ?? port.port} targets ${port.targetPort ?? port.port}, which no container of ${backend.where} declares`),
        );
      }),
  },
  {
    title: "every StatefulSet's serviceName is a headless Service that selects it",
    run: ({ services, workloads }) =>
      workloads.flatMap((workload) => {
        if (workload.serviceName === undefined) return [];
        const service = find(services, workload.namespace, workload.serviceName);
        if (!service) return [`${workload.where}: serviceName ${workload.serviceName} names no Service`];
        const problems: string[] = [];
        // Only a headless Service gives the StatefulSet's pods their stable DNS names.
        if (service.object.spec?.clusterIP !== 'None')
          problems.push(`${service.where}: the governing Service of ${workload.where} is not headless (clusterIP: None)`);
        if (!selects({ matchLabels: service.object.spec?.selector ?? {} }, workload.labels))
          problems.push(`${service.where}: does not select the pods of ${workload.where}, which it governs`);
        return problems;
      }),
  },
  {
    title: 'every probe port names or numbers a port its container declares',
    run: ({ workloads }) =>
      workloads.flatMap((workload) =>
        containersOf(workload.pod).flatMap((container) =>
          probesOf(container).flatMap(([kind, probe]) => {
            const port = probePort(probe);
            return port === undefined || declaresPort([container], port)
              ? []
              : [`${workload.where}: container ${container.name}'s ${kind} probe port ${port} is not a port it declares`];
          }),
        ),
      ),
  },
  {
    title: 'every prometheus.io/port is a number that a container of its pod declares',
    run: ({ workloads }) =>
      workloads.flatMap((workload) => {
        const annotations = workload.annotations;
        if (!Object.values(PROMETHEUS).some((key) => key in annotations)) return [];
        const problems: string[] = [];
        if (annotations[PROMETHEUS.scrape] !== 'true') problems.push(`${workload.where}: ${PROMETHEUS.scrape} is not "true"`);
        const port = annotations[PROMETHEUS.port];
        // The usual relabelling pastes the annotation into the scrape address: a name does not work there.
        if (port === undefined || !/^\d+$/.test(port)) problems.push(`${workload.where}: ${PROMETHEUS.port} is ${JSON.stringify(port)}, not a port number`);
        else if (!declaresPort(containersOf(workload.pod), Number(port)))
          problems.push(`${workload.where}: ${PROMETHEUS.port} ${port} is not a port its containers declare`);
        const path = annotations[PROMETHEUS.path];
        if (path !== undefined && !path.startsWith('/')) problems.push(`${workload.where}: ${PROMETHEUS.path} ${path} does not start with /`);
        return problems;
      }),
  },
  {
    title: 'every Secret and ConfigMap a pod refers to is in the manifests, with every key it asks for',
    run: (manifests) =>
      manifests.workloads.flatMap((workload) => {
        const { namespace, where } = workload;
        const problems: string[] = [];
        const secretHas = (name: string | undefined, key?: string): void => {
          const secret = find(manifests.secrets, namespace, name);
          if (!secret) problems.push(`${where}: Secret ${name} is not in the manifests`);
          else if (key !== undefined && !secretKeys(secret.object).includes(key)) problems.push(`${where}: Secret ${name} has no key ${key}`);
        };
        const configMapHas = (name: string | undefined, key?: string): void => {
          const configMap = find(manifests.configMaps, namespace, name);
          if (!configMap) problems.push(`${where}: ConfigMap ${name} is not in the manifests`);
          else if (key !== undefined && !configMapKeys(configMap.object).includes(key)) problems.push(`${where}: ConfigMap ${name} has no key ${key}`);
        };
        for (const container of containersOf(workload.pod)) {
          for (const { valueFrom } of container.env ?? []) {
            if (valueFrom?.secretKeyRef) secretHas(valueFrom.secretKeyRef.name, valueFrom.secretKeyRef.key);
            if (valueFrom?.configMapKeyRef) configMapHas(valueFrom.configMapKeyRef.name, valueFrom.configMapKeyRef.key);
          }
          for (const source of container.envFrom ?? []) {
            if (source.secretRef) secretHas(source.secretRef.name);
            if (source.configMapRef) configMapHas(source.configMapRef.name);
          }
        }
        for (const volume of workload.pod.volumes ?? []) {
          if (volume.secret) {
            secretHas(volume.secret.secretName);
            for (const item of volume.secret.items ?? []) secretHas(volume.secret.secretName, item.key);
          }
          if (volume.configMap) {
            configMapHas(volume.configMap.name);
            for (const item of volume.configMap.items ?? []) configMapHas(volume.configMap.name, item.key);
          }
        }
        return problems;
      }),
  },
  {
    title: 'every volumeMount names a volume of its pod or a volumeClaimTemplate',
    run: ({ workloads }) =>
      workloads.flatMap((workload) => {
        const volumes = new Set([...(workload.pod.volumes ?? []).map((volume) => volume.name), ...workload.claimTemplates]);
        return containersOf(workload.pod).flatMap((container) =>
          (container.volumeMounts ?? [])
            .filter((mount) => !volumes.has(mount.name))
            .map((mount) => `${workload.where}: container ${container.name} mounts ${mount.name}, which is no volume of the pod`),
        );
      }),
  },
  {
    title: "metamcp-init is the entrypoint (docker/Dockerfile's ENTRYPOINT) and PID 1 of its own process namespace",
    run: (manifests) => {
      const runs = initContainersOf(manifests);
      if (runs.length === 0) return ['no container runs metamcp-init'];
      return runs.flatMap(({ workload, container }) => {
        const problems: string[] = [];
        if (!sameArgs(container.command, manifests.initEntrypoint)) {
          problems.push(
            `${workload.where}: container ${container.name}'s command ${JSON.stringify(container.command)} is not the image's ENTRYPOINT ${JSON.stringify(manifests.initEntrypoint)}`,
          );
        }
        // A shared namespace makes the pause process PID 1 (and hostPID the node's init).
        if (workload.pod.shareProcessNamespace) problems.push(`${workload.where}: shareProcessNamespace makes the pause process PID 1, not the init`);
        if (workload.pod.hostPID) problems.push(`${workload.where}: hostPID puts the init among the node's processes`);
        return problems;
      });
    },
  },
  {
    title: 'METAMCP_INIT_METRICS_LISTEN is a numeric ip:port whose port the container declares',
    run: (manifests) =>
      metricsPorts(manifests).flatMap(({ workload, container, port }) => {
        if (typeof port === 'string') return [`${workload.where}: container ${container.name}: ${port}`];
        return declaresPort([container], port)
          ? []
          : [`${workload.where}: container ${container.name} listens for metrics on ${port} but declares no such port`];
      }),
  },
  {
    title: 'liveness and readiness are httpGet /healthz at the metrics listen port, and no probe of the init container is exec',
    run: (manifests) =>
      metricsPorts(manifests).flatMap(({ workload, container, port }) => {
        const where = `${workload.where}: container ${container.name}`;
        const problems: string[] = [];
        for (const [kind, probe] of [
          ['liveness', container.livenessProbe],
          ['readiness', container.readinessProbe],
        ] as const) {
          const httpGet = probe?.httpGet;
          if (!httpGet) problems.push(`${where}: no ${kind} probe with httpGet`);
          else if (httpGet.path !== '/healthz') problems.push(`${where}: the ${kind} probe asks ${httpGet.path}, not /healthz`);
          else if (portNumber(container, httpGet.port) !== port)
            problems.push(`${where}: the ${kind} probe port ${httpGet.port} is not the metrics listen port ${port}`);
        }
        for (const [kind, probe] of probesOf(container)) {
          // An exec probe forks in the pod's pids cgroup: it fails when the pids limit is reached.
          if (probe.exec) problems.push(`${where}: the ${kind} probe is exec`);
        }
        return problems;
      }),
  },
  {
    title: 'the Prometheus annotations of the init pod point at the metrics listen port and /metrics',
    run: (manifests) =>
      metricsPorts(manifests).flatMap(({ workload, port }) => {
        const { annotations, where } = workload;
        const problems: string[] = [];
        if (annotations[PROMETHEUS.scrape] !== 'true') problems.push(`${where}: ${PROMETHEUS.scrape} is not "true"`);
        if (annotations[PROMETHEUS.port] !== String(port))
          problems.push(`${where}: ${PROMETHEUS.port} is ${JSON.stringify(annotations[PROMETHEUS.port])}, not the metrics listen port ${port}`);
        if (annotations[PROMETHEUS.path] !== '/metrics')
          problems.push(`${where}: ${PROMETHEUS.path} is ${JSON.stringify(annotations[PROMETHEUS.path])}, not /metrics`);
        return problems;
      }),
  },
  {
    title: 'terminationGracePeriodSeconds is longer than METAMCP_INIT_GRACE',
    run: (manifests) =>
      initContainersOf(manifests).flatMap(({ workload, container }) => {
        const grace = envValue(manifests, workload.namespace, container, 'METAMCP_INIT_GRACE') ?? INIT_DEFAULT_GRACE;
        let graceMs: number;
        try {
          graceMs = parseDurationMs(grace); // the init's own parser: the check reads it as the init will
        } catch {
          return [`${workload.where}: METAMCP_INIT_GRACE ${grace} is not a duration the init takes`];
        }
        const periodSeconds = workload.pod.terminationGracePeriodSeconds ?? KUBERNETES_DEFAULT_TERMINATION_GRACE_SECONDS;
        return periodSeconds * 1000 > graceMs
          ? []
          : [
              `${workload.where}: terminationGracePeriodSeconds ${periodSeconds} is not longer than METAMCP_INIT_GRACE ${grace}: the kubelet would KILL the init before its grace ends`,
            ];
      }),
  },
  {
    title: 'METAMCP_INIT_PIDS_MAX, where set, is a whole number of at least 1',
    run: (manifests) =>
      pidsMaxes(manifests).flatMap(({ workload, container, pidsMax }) =>
        typeof pidsMax === 'string' ? [`${workload.where}: container ${container.name}: ${pidsMax}`] : [],
      ),
  },
  {
    title: `the pod's podPidsLimit is declared once (${ASSUMED_POD_PIDS_LIMIT}), and METAMCP_INIT_PIDS_MAX is set to at most it`,
    run: (manifests) =>
      pidsMaxes(manifests).flatMap(({ workload, container, pidsMax }) => {
        const where = `${workload.where}: container ${container.name}`;
        const assumed = workload.annotations[ASSUMED_POD_PIDS_LIMIT];
        if (assumed === undefined) {
          return pidsMax === undefined ? [] : [`${where}: METAMCP_INIT_PIDS_MAX is set, but the pod has no ${ASSUMED_POD_PIDS_LIMIT} annotation to hold it to`];
        }
        if (!/^\d+$/.test(assumed) || Number(assumed) < 1)
          return [`${where}: ${ASSUMED_POD_PIDS_LIMIT} ${JSON.stringify(assumed)} is not a whole number of at least 1`];
        // The pod's pids limit is out of the init's sight: without the variable the guard sees none.
        if (pidsMax === undefined)
          return [`${where}: the pod assumes podPidsLimit ${assumed}, but sets no METAMCP_INIT_PIDS_MAX: the guard would see no pids limit`];
        if (typeof pidsMax === 'string') return []; // the check above reports it
        // The container's pids.current leaves out the pod's other containers (the pause container, sidecars).
        return pidsMax <= Number(assumed)
          ? []
          : [`${where}: METAMCP_INIT_PIDS_MAX ${pidsMax} is more than the podPidsLimit ${assumed} the pod assumes (${ASSUMED_POD_PIDS_LIMIT})`];
      }),
  },
  {
    title: "the app's DATABASE_URL and POSTGRES_HOST/PORT reach Postgres through a Service port, with the user, password and database it is started with",
    run: (manifests) =>
      initContainersOf(manifests).flatMap(({ workload, container }) => {
        const { namespace, where } = workload;
        const text = envValue(manifests, namespace, container, 'DATABASE_URL');
        if (text === undefined) return [`${where}: DATABASE_URL is not set (or its Secret key is missing)`];
        let url: URL;
        try {
          url = new URL(text);
        } catch {
          return [`${where}: DATABASE_URL is not a URL`];
        }
        const problems: string[] = [];
        const port = url.port === '' ? POSTGRES_DEFAULT_PORT : Number(url.port);
        // `name`, `name.namespace` or `name.namespace.svc…`: the first label is the Service.
        const serviceName = url.hostname.split('.')[0];
        const service = find(manifests.services, namespace, serviceName);
        if (!service) return [`${where}: DATABASE_URL's host ${url.hostname} is no Service in the manifests`];
        if (!(service.object.spec?.ports ?? []).some((servicePort) => servicePort.port === port))
          problems.push(`${where}: DATABASE_URL's port ${port} is no port of ${service.where}`);
        const host = envValue(manifests, namespace, container, 'POSTGRES_HOST');
        if (host !== undefined && host !== url.hostname) problems.push(`${where}: POSTGRES_HOST ${host} is not DATABASE_URL's host ${url.hostname}`);
        const hostPort = envValue(manifests, namespace, container, 'POSTGRES_PORT');
        if (hostPort !== undefined && Number(hostPort) !== port) problems.push(`${where}: POSTGRES_PORT ${hostPort} is not DATABASE_URL's port ${port}`);
        const postgres = manifests.workloads
          .filter((backend) => backend.namespace === namespace && selects({ matchLabels: service.object.spec?.selector ?? {} }, backend.labels))
          .flatMap((backend) => containersOf(backend.pod).map((server) => ({ backend, server })))
          .find(({ server }) => server.env?.some((variable) => variable.name === 'POSTGRES_USER'));
        if (!postgres) return [...problems, `${where}: no container behind ${service.where} sets POSTGRES_USER`];
        const expected = {
          POSTGRES_USER: decodeURIComponent(url.username),
          POSTGRES_PASSWORD: decodeURIComponent(url.password),
          POSTGRES_DB: decodeURIComponent(url.pathname.slice(1)),
        };
        for (const [name, value] of Object.entries(expected)) {
          const actual = envValue(manifests, postgres.backend.namespace, postgres.server, name);
          if (actual !== value)
            problems.push(`${where}: DATABASE_URL says ${name} ${JSON.stringify(value)}, ${postgres.backend.where} starts with ${JSON.stringify(actual)}`);
        }
        return problems;
      }),
  },
];
