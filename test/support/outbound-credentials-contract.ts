import type { OutboundCredentials } from '../../src/ports/outbound-auth';

/**
 * The behaviour every OutboundCredentials implementation must have; run against each adapter. `renewable`: whether
 * a 401 can be answered with something fresh (tokens) or not (static credentials, which send the same again).
 */
export function outboundCredentialsContract(name: string, make: () => OutboundCredentials | Promise<OutboundCredentials>, options: { renewable: boolean; sendsAuthorization: boolean }): void {
  describe(`${name} (OutboundCredentials contract)`, () => {
    it('when asked twice, then the same headers, all string values', async () => {
      const credentials = await make();
      const first = await credentials.headers();
      expect(await credentials.headers()).toEqual(first);
      for (const value of Object.values(first)) expect(typeof value).toBe('string');
      if (options.sendsAuthorization) expect(first.authorization).toMatch(/^(Basic|Bearer) \S+$/);
      else expect(first).toEqual({});
    });

    it(`when the target rejects the headers, then ${options.renewable ? 'fresh ones are offered once' : 'no retry is offered and the same are sent'}`, async () => {
      const credentials = await make();
      const first = await credentials.headers();
      expect(credentials.rejected(first)).toBe(options.renewable);
      const second = await credentials.headers();
      if (options.renewable) expect(second.authorization).not.toBe(first.authorization);
      else expect(second).toEqual(first);
      // Rejecting headers that are already replaced drops nothing new.
      if (options.renewable) {
        credentials.rejected(first);
        expect(await credentials.headers()).toEqual(second);
      }
    });
  });
}
