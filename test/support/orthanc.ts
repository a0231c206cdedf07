import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts a real Orthanc (Debian's package) for integration tests: loopback only, a free HTTP port, no DICOM
 * listener, temp storage, Basic auth on, and the DICOMweb plugin at /dicom-web/. Only our generated config file is
 * passed, so nothing from /etc/orthanc is read.
 */
export interface TestOrthanc {
  /** e.g. http://127.0.0.1:40123 (no trailing slash). */
  baseUrl: string;
  /** e.g. http://127.0.0.1:40123/dicom-web (no trailing slash). */
  dicomWebUrl: string;
  username: string;
  password: string;
  /** Value for an Authorization header. */
  authorization: string;
  /** Uploads one Part 10 file through Orthanc's REST API; returns Orthanc's answer (ID, ParentStudy, …). */
  upload(part10: Uint8Array): Promise<{ ID: string; ParentStudy: string; Status: string }>;
  /** GET a REST path (e.g. "/studies") with auth and parse JSON. */
  getJson<T = unknown>(path: string): Promise<T>;
  /** An outage: SIGKILL the process, keep its storage and port (nothing answers there until start()). */
  crash(): Promise<void>;
  /** Starts it again on the same storage, port and credentials, after crash(); resolves once /system answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestOrthancOptions {
  /** Seconds without new instances before a study is "stable" (Orthanc default 60). */
  stableAge?: number;
  orthancBinary?: string;
  pluginsDir?: string;
  /** Milliseconds to wait for /system to answer. */
  startTimeoutMs?: number;
  /**
   * Orthanc's OverwriteInstances (default false: an identical re-upload is "AlreadyStored" and logs no change). True
   * stores it again, so Orthanc emits NewInstance and later StableStudy again, as after a real re-send.
   */
  overwriteInstances?: boolean;
  /** HTTP port to listen on (default: a free one). */
  port?: number;
}

const DEFAULT_BINARY = '/usr/sbin/Orthanc';
const DEFAULT_PLUGINS = '/usr/share/orthanc/plugins';

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function orthancConfig(dir: string, port: number, user: string, password: string, stableAge: number, pluginsDir: string, overwriteInstances = false): object {
  return {
    OverwriteInstances: overwriteInstances,
    Name: 'clinical-ai-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpServerEnabled: true,
    HttpPort: port,
    DicomServerEnabled: false,
    // RemoteAccessAllowed=false restricts HTTP to the loopback interface.
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    StableAge: stableAge,
    SaveJobs: false,
    HttpThreadsCount: 8,
    ConcurrentJobs: 1,
    StorageCompression: false,
    HttpDescribeErrors: true,
    Plugins: [join(pluginsDir, 'libOrthancDicomWeb.so')],
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      EnableWado: false,
      Ssl: false,
      // Full metadata reads the stored files, so Rows/Columns/ImageType are present in WADO-RS metadata.
      StudiesMetadata: 'Full',
      SeriesMetadata: 'Full',
    },
  };
}

async function waitForSystem(baseUrl: string, authorization: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`Orthanc exited with code ${child.exitCode} during start-up:\n${log()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/system`, { headers: { authorization } });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Orthanc did not answer /system within ${timeoutMs} ms:\n${log()}`);
}

export async function startOrthanc(options: TestOrthancOptions = {}): Promise<TestOrthanc> {
  const binary = options.orthancBinary ?? DEFAULT_BINARY;
  const pluginsDir = options.pluginsDir ?? DEFAULT_PLUGINS;
  if (!existsSync(binary)) {
    throw new Error(`Orthanc not found at ${binary}: install the Debian packages "orthanc" and "orthanc-dicomweb" to run these tests`);
  }
  if (!existsSync(join(pluginsDir, 'libOrthancDicomWeb.so'))) {
    throw new Error(`Orthanc DICOMweb plugin not found in ${pluginsDir}: install the Debian package "orthanc-dicomweb"`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'orthanc-test-'));
  const port = options.port ?? (await freeLoopbackPort());
  const username = 'clinical-ai-test';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const configPath = join(dir, 'orthanc.json');
  await writeFile(configPath, JSON.stringify(orthancConfig(dir, port, username, password, options.stableAge ?? 2, pluginsDir, options.overwriteInstances), null, 2));

  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  const spawnOrthanc = (): { child: ChildProcess; exited: Promise<void> } => {
    const c = spawn(binary, [configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    return { child: c, exited: new Promise<void>((resolve) => c.once('exit', () => resolve())) };
  };
  let { child, exited } = spawnOrthanc();
  // If the test process dies without calling stop(), do not leave Orthanc running.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const baseUrl = `http://127.0.0.1:${port}`;
  let stopped = false;
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (running()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForSystem(baseUrl, authorization, child, options.startTimeoutMs ?? 20000, () => output);
  } catch (err) {
    await stop();
    throw err;
  }

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { authorization } });
    if (!res.ok) throw new Error(`Orthanc GET ${path} answered ${res.status}`);
    return (await res.json()) as T;
  };

  return {
    baseUrl,
    dicomWebUrl: `${baseUrl}/dicom-web`,
    username,
    password,
    authorization,
    getJson,
    async upload(part10: Uint8Array) {
      const res = await fetch(`${baseUrl}/instances`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/dicom' },
        body: part10,
      });
      if (!res.ok) throw new Error(`Orthanc upload answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { ID: string; ParentStudy: string; Status: string };
    },
    async crash() {
      if (running()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async start() {
      if (running()) return;
      ({ child, exited } = spawnOrthanc());
      await waitForSystem(baseUrl, authorization, child, options.startTimeoutMs ?? 20000, () => output);
    },
    stop,
  };
}
