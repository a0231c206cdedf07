import { spawnSync } from 'node:child_process';
import { CHART_DIR, HELM, RELEASE, ensureHelm, findKind, only, render, renderError, type K8sObject } from './render';
import { loadConfig } from '../../src/config';
import { checkBindPolicy } from '../../src/http/auth/bind-policy';
import { authConfigured } from '../../src/http/auth/settings';
import { silentLogger } from '../../src/logging';

const EXTERNAL = 'helm/ci/external-services-values.yaml';
const EXISTING_CLAIMS = 'helm/ci/existing-claims-values.yaml';
const MODELS_IMAGE = 'helm/ci/models-image-values.yaml';
const FULLNAME = `${RELEASE}-clinical-ai`;

beforeAll(() => ensureHelm());

function podSpec(objects: K8sObject[]): K8sObject {
  return only(objects, 'Deployment')['spec']['template']['spec'];
}

function mainContainer(objects: K8sObject[]): K8sObject {
  const containers = podSpec(objects)['containers'] as K8sObject[];
  const container = containers.find((c) => c['name'] === 'clinical-ai');
  if (!container) throw new Error('no clinical-ai container');
  return container;
}

function volume(objects: K8sObject[], name: string): K8sObject | undefined {
  return (podSpec(objects)['volumes'] as K8sObject[]).find((v) => v['name'] === name);
}

function mount(container: K8sObject, name: string): K8sObject | undefined {
  return (container['volumeMounts'] as K8sObject[]).find((m) => m['name'] === name);
}

function configJson(objects: K8sObject[]): K8sObject {
  return JSON.parse(only(objects, 'ConfigMap')['data']['config.json'] as string) as K8sObject;
}

function env(container: K8sObject): K8sObject[] {
  return (container['env'] ?? []) as K8sObject[];
}

describe('clinical-ai chart', () => {
  it('when rendered with default values, then startup and liveness probe GET /healthz and readiness GET /readyz on the service port', () => {
    const objects = render();
    const container = mainContainer(objects);
    expect(container['startupProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    expect(container['livenessProbe']['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    expect(container['readinessProbe']['httpGet']).toEqual({ path: '/readyz', port: 'http' });
    expect(container['ports']).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(only(objects, 'Service')['spec']['ports'][0]).toMatchObject({ port: 8080, targetPort: 'http' });
  });

  it('when rendered with default values, then one replica runs with the Recreate strategy', () => {
    const deployment = only(render(), 'Deployment');
    expect(deployment['spec']['replicas']).toBe(1);
    expect(deployment['spec']['strategy']).toEqual({ type: 'Recreate' });
  });

  it('when config values are given, then the ConfigMap holds them merged over the defaults and the service is pointed at it', () => {
    const objects = render([EXTERNAL]);
    expect(configJson(objects)).toEqual({
      pacs: 'orthanc:http://orthanc.imaging.svc:8042',
      fhir: 'https://fhir.example/fhir',
      dataDir: '/var/lib/clinical-ai',
      modelsDir: '/models',
      http: { host: '0.0.0.0', port: 8080 },
      workers: { concurrency: 2, inferenceThreads: 2 },
      results: { reportStatus: 'final', clinicalUseNotice: 'AI RESULT - NOT FOR PRIMARY DIAGNOSIS' },
      logLevel: 'debug',
      orthanc: { pollIntervalMs: 1000, fromStart: true },
    });
    const container = mainContainer(objects);
    expect(env(container)).toContainEqual({ name: 'CLINICAL_AI_CONFIG', value: '/etc/clinical-ai/config.json' });
    expect(mount(container, 'config')).toEqual({ name: 'config', mountPath: '/etc/clinical-ai', readOnly: true });
    expect(volume(objects, 'config')).toEqual({ name: 'config', configMap: { name: FULLNAME } });
  });

  it('when the config changes, then the pod template checksum changes so the pod restarts', () => {
    const checksum = (objects: K8sObject[]): string =>
      only(objects, 'Deployment')['spec']['template']['metadata']['annotations']['checksum/config'] as string;
    expect(checksum(render())).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(render([], ['config.logLevel=debug']))).not.toBe(checksum(render()));
  });

  it('when Secrets are referenced, then credentials reach the container only as secretKeyRef env vars', () => {
    const objects = render([EXTERNAL]);
    expect(findKind(objects, 'Secret')).toEqual([]);
    const byName = new Map(env(mainContainer(objects)).map((e) => [e['name'] as string, e]));
    expect(byName.get('CLINICAL_AI_PACS_USERNAME')).toEqual({
      name: 'CLINICAL_AI_PACS_USERNAME', valueFrom: { secretKeyRef: { name: 'orthanc-credentials', key: 'user' } },
    });
    expect(byName.get('CLINICAL_AI_PACS_PASSWORD')).toEqual({
      name: 'CLINICAL_AI_PACS_PASSWORD', valueFrom: { secretKeyRef: { name: 'orthanc-credentials', key: 'pass' } },
    });
    expect(byName.get('CLINICAL_AI_FHIR_TOKEN')).toEqual({
      name: 'CLINICAL_AI_FHIR_TOKEN', valueFrom: { secretKeyRef: { name: 'fhir-token', key: 'access-token' } },
    });
    expect(byName.get('CLINICAL_AI_AUTH_API_KEYS')).toEqual({
      name: 'CLINICAL_AI_AUTH_API_KEYS', valueFrom: { secretKeyRef: { name: 'clinical-ai-api-keys', key: 'keys.json' } },
    });
    const config = configJson(objects);
    for (const key of ['pacsUsername', 'pacsPassword', 'fhirToken', 'auth']) expect(config).not.toHaveProperty(key);
  });

  it('when no Secrets are referenced, then no credential env vars are rendered', () => {
    const names = env(mainContainer(render())).map((e) => e['name']);
    expect(names).toEqual(['CLINICAL_AI_CONFIG']);
  });

  it('when the chart binds every pod interface, then the service it configures starts only with authentication or allowAnonymous', () => {
    const startsWith = (objects: K8sObject[], env: NodeJS.ProcessEnv = {}): boolean => {
      const config = loadConfig({ env, overrides: configJson(objects) as Record<string, unknown> });
      try {
        checkBindPolicy({ ...config.http, authConfigured: authConfigured(config), anonymousRoles: config.auth.anonymousRoles }, silentLogger);
        return true;
      } catch {
        return false;
      }
    };
    expect(configJson(render())['http']).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(startsWith(render())).toBe(false);
    const keys = JSON.stringify([{ id: 'ris', sha256: 'a'.repeat(64), roles: ['sender'] }]);
    expect(startsWith(render([], ['secrets.apiKeys.existingSecret=keys']), { CLINICAL_AI_AUTH_API_KEYS: keys })).toBe(true);
    expect(startsWith(render([], ['config.auth.oidc.issuer=https://login.example', 'config.auth.oidc.audience=urn:clinical-ai']))).toBe(true);
    expect(startsWith(render([], ['config.http.allowAnonymous=true']))).toBe(true);
  });

  it('when a credential is put in config, then the values schema refuses it', () => {
    expect(renderError([], ['config.fhirToken=abc'])).toContain('config.fhirToken');
    expect(renderError([], ['config.auth.operatorToken=abc'])).toContain('operatorToken');
  });

  it('when rendered with default values, then pod and container run non-root with a read-only root, no capabilities and RuntimeDefault seccomp', () => {
    const objects = render();
    const pod = podSpec(objects);
    expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod['automountServiceAccountToken']).toBe(false);
    const container = mainContainer(objects);
    expect(container['securityContext']).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(mount(container, 'tmp')).toEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(volume(objects, 'tmp')).toEqual({ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } });
  });

  it('when persistence uses defaults, then a PVC is created and mounted writable at the data dir', () => {
    const objects = render();
    const pvc = only(objects, 'PersistentVolumeClaim');
    expect(pvc['metadata']['name']).toBe(`${FULLNAME}-data`);
    expect(pvc['spec']).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
    expect(volume(objects, 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: `${FULLNAME}-data` } });
    expect(mount(mainContainer(objects), 'data')).toEqual({ name: 'data', mountPath: '/var/lib/clinical-ai' });
  });

  it('when existing claims are given, then no PVC is created and data and models are mounted from them at the configured dirs', () => {
    const objects = render([EXISTING_CLAIMS]);
    expect(findKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    const container = mainContainer(objects);
    expect(volume(objects, 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'clinical-ai-data' } });
    expect(mount(container, 'data')).toEqual({ name: 'data', mountPath: '/data' });
    expect(volume(objects, 'models')).toEqual({
      name: 'models', persistentVolumeClaim: { claimName: 'clinical-ai-models', readOnly: true },
    });
    expect(mount(container, 'models')).toEqual({ name: 'models', mountPath: '/opt/models', readOnly: true });
    expect(container['ports'][0]['containerPort']).toBe(9090);
    expect(configJson(objects)).toMatchObject({ dataDir: '/data', modelsDir: '/opt/models', http: { port: 9090 } });
  });

  it('when models come from an image, then an initContainer copies them into an emptyDir mounted at the models dir', () => {
    const objects = render([MODELS_IMAGE]);
    const pod = podSpec(objects);
    expect(pod['initContainers']).toHaveLength(1);
    const init = pod['initContainers'][0] as K8sObject;
    expect(init['image']).toBe('registry.example/clinical-ai-models:2024.06');
    expect(init['command']).toEqual(['cp', '-R', '/models/.', '/models-target/']);
    expect(init['volumeMounts']).toEqual([{ name: 'models', mountPath: '/models-target' }]);
    expect(init['securityContext']).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(volume(objects, 'models')).toEqual({ name: 'models', emptyDir: { sizeLimit: '8Gi' } });
    expect(mount(mainContainer(objects), 'models')).toEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(mainContainer(objects)['image']).toBe('registry.example/clinical-ai:1.2.3');
  });

  it('when persistence is disabled and the ServiceAccount is not created, then data is an emptyDir and the default account is used', () => {
    const objects = render([MODELS_IMAGE]);
    expect(findKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    expect(findKind(objects, 'ServiceAccount')).toEqual([]);
    expect(volume(objects, 'data')).toEqual({ name: 'data', emptyDir: {} });
    expect(podSpec(objects)['serviceAccountName']).toBe('default');
  });

  it('when models are baked into the image, then no models volume is mounted', () => {
    const objects = render();
    expect(volume(objects, 'models')).toBeUndefined();
    expect(mount(mainContainer(objects), 'models')).toBeUndefined();
    expect(podSpec(objects)['initContainers']).toBeUndefined();
  });

  it('when replicaCount is "two" or 2, then rendering fails on the values schema', () => {
    expect(renderError(['test/helm/invalid-values/replica-count-string.yaml'])).toContain('replicaCount: Invalid type');
    expect(renderError(['test/helm/invalid-values/replica-count-two.yaml'])).toContain('replicaCount: Must be less than or equal to 1');
  });

  it('when a models mode lacks its source, then rendering fails with a message naming the missing value', () => {
    expect(renderError([], ['models.source=image'])).toContain('models.image.repository is required');
    expect(renderError([], ['models.source=existingClaim'])).toContain('models.existingClaim is required');
  });

  it('when the chart is linted strictly, then it passes', () => {
    const result = spawnSync(HELM, ['lint', '--strict', CHART_DIR], { encoding: 'utf8' });
    expect(result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });
});
