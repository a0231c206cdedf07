import { Writable } from 'node:stream';
import { createLogger } from '../../logging';
import { checkBindPolicy, isLoopbackHost } from './bind-policy';

function capture(): { logger: ReturnType<typeof createLogger>; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _e, cb) => {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

describe('R11 secure default: no authentication, loopback only', () => {
  const base = { port: 8080, anonymousRoles: ['viewer', 'sender', 'operator'] as const };

  it('when the host is loopback, then isLoopbackHost says so; any other address is not', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', 'ai.hospital.example', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('when binding a non-loopback address without authentication, then start is refused with CONFIG_INVALID naming http.allowAnonymous', () => {
    const { logger } = capture();
    expect(() => checkBindPolicy({ ...base, host: '0.0.0.0', allowAnonymous: false, authConfigured: false }, logger)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('http.allowAnonymous: true') }),
    );
    expect(() => checkBindPolicy({ ...base, host: '0.0.0.0', allowAnonymous: false, authConfigured: true }, logger)).not.toThrow();
    expect(() => checkBindPolicy({ ...base, host: '127.0.0.1', allowAnonymous: false, authConfigured: false }, logger)).not.toThrow();
  });

  it('when http.allowAnonymous is true, then it starts and warns, naming the roles anyone gets', () => {
    const { logger, lines } = capture();
    checkBindPolicy({ ...base, host: '0.0.0.0', allowAnonymous: true, authConfigured: false }, logger);
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining('http.allowAnonymous is true: requests without credentials are served with roles viewer, sender, operator') })]);
  });
});
