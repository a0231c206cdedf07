/**
 * The chart's inbound HTTPS (secrets.tls) and the C-STORE receiver example: what is rendered starts a service
 * whose configuration passes the same checks `serve` makes.
 */
import { loadConfig } from '../../src/config';
import { clientCertificatesConfigured } from '../../src/http/auth/client-certificate';
import { DEFAULT_STORE_TRANSFER_SYNTAXES, DimseStoreScp } from '../../adapters/push/dimse-scp';
import { ReceivedStore } from '../../adapters/push/received-store';
import { silentLogger } from '../../src/logging';
import { ensureHelm, only, render, renderError, type K8sObject } from './render';

beforeAll(() => ensureHelm());

const podSpec = (objects: K8sObject[]): K8sObject => only(objects, 'Deployment')['spec']['template']['spec'];
const container = (objects: K8sObject[]): K8sObject => (podSpec(objects)['containers'] as K8sObject[]).find((c) => c['name'] === 'clinical-ai') as K8sObject;
const configJson = (objects: K8sObject[]): Record<string, unknown> => JSON.parse(only(objects, 'ConfigMap')['data']['config.json'] as string) as Record<string, unknown>;
const envOf = (objects: K8sObject[]): Record<string, string> =>
  Object.fromEntries(((container(objects)['env'] ?? []) as K8sObject[]).filter((e) => typeof e['value'] === 'string').map((e) => [e['name'] as string, e['value'] as string]));

describe('clinical-ai chart: inbound HTTPS (secrets.tls)', () => {
  const TLS = ['secrets.tls.existingSecret=ai-tls', 'secrets.tls.caKey=client-ca.crt', 'config.http.tls.clientCertificates=optional', 'config.auth.clientCertificates[0].subject=ris-gateway', 'config.auth.clientCertificates[0].roles[0]=sender'];

  it('when a TLS Secret is referenced, then its files are mounted read-only (group-readable only), http.tls points at them and the probes use HTTPS', () => {
    const objects = render([], TLS);
    const c = container(objects);
    expect(envOf(objects)).toMatchObject({
      CLINICAL_AI_HTTP_TLS_CERT_FILE: '/etc/clinical-ai/tls/tls.crt',
      CLINICAL_AI_HTTP_TLS_KEY_FILE: '/etc/clinical-ai/tls/tls.key',
      CLINICAL_AI_HTTP_TLS_CA_FILE: '/etc/clinical-ai/tls/client-ca.crt',
    });
    expect((c['volumeMounts'] as K8sObject[]).find((m) => m['name'] === 'tls')).toEqual({ name: 'tls', mountPath: '/etc/clinical-ai/tls', readOnly: true });
    expect((podSpec(objects)['volumes'] as K8sObject[]).find((v) => v['name'] === 'tls')).toEqual({ name: 'tls', secret: { secretName: 'ai-tls', defaultMode: 0o440 } });
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(c[probe]['httpGet']['scheme']).toBe('HTTPS');
    // The rendered config with the env the pod gets is what `serve` loads: HTTPS on, certificates count as auth.
    const { CLINICAL_AI_CONFIG: _file, ...env } = envOf(objects);
    const config = loadConfig({ env, overrides: configJson(objects) });
    expect(config.http.tls).toMatchObject({ certFile: '/etc/clinical-ai/tls/tls.crt', caFile: '/etc/clinical-ai/tls/client-ca.crt', clientCertificates: 'optional' });
    expect(clientCertificatesConfigured(config)).toBe(true);
  });

  it('when no TLS Secret is referenced, then nothing of it is rendered and the probes stay HTTP', () => {
    const objects = render();
    expect(Object.keys(envOf(objects)).filter((k) => k.includes('TLS'))).toEqual([]);
    expect((podSpec(objects)['volumes'] as K8sObject[]).map((v) => v['name'])).not.toContain('tls');
    expect(container(objects)['readinessProbe']['httpGet']['scheme']).toBeUndefined();
  });

  it('when required client certificates are asked for with the chart, then rendering fails naming the way out', () => {
    expect(renderError([], ['secrets.tls.existingSecret=ai-tls', 'config.http.tls.clientCertificates=required'])).toContain('use "optional"');
  });
});

describe('clinical-ai chart: the C-STORE receiver example (helm/ci/push-intake-values.yaml)', () => {
  it('when rendered, then the receiver listens on every pod interface with a peer list, which the SCP accepts', () => {
    const objects = render(['helm/ci/push-intake-values.yaml']);
    const config = loadConfig({ env: {}, overrides: configJson(objects) });
    expect(config.dimse).toMatchObject({ enabled: true, host: '0.0.0.0', allowAnyCaller: false });
    expect(config.dimse.peers.length).toBeGreaterThan(0);
    const store = new ReceivedStore('/nonexistent', { maxInstanceBytes: 1024, logger: silentLogger });
    const scp = (): DimseStoreScp => new DimseStoreScp({ ...config.dimse, transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store, logger: silentLogger });
    expect(scp).not.toThrow();
    // Without the list the same values would be refused: the secure default holds in the chart too.
    expect(() => new DimseStoreScp({ ...config.dimse, peers: [], transferSyntaxes: DEFAULT_STORE_TRANSFER_SYNTAXES, store, logger: silentLogger })).toThrow(/dimse\.allowAnyCaller/);
  });
});
