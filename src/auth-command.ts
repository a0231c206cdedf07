import { AppError } from './domain/errors';
import { ROLES, type Role } from './domain/principal';
import { generateApiKey } from './http/auth/api-keys';

export const AUTH_USAGE = `  clinical-ai auth generate-api-key --id NAME --roles viewer,sender,operator,admin
      make an API key: prints the key once (stdout, first line) and the auth.apiKeys entry holding only its SHA-256`;

/** `clinical-ai auth generate-api-key`: the key is shown once; only its digest goes into the configuration. */
export function authCommand(sub: string | undefined, flags: Map<string, string>, print: (line: string) => void, printErr: (line: string) => void): number {
  if (sub !== 'generate-api-key') throw new AppError('BAD_REQUEST', `unknown auth command: ${sub ?? '(none)'}\n${AUTH_USAGE}`);
  const id = flags.get('id') ?? '';
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(id)) throw new AppError('BAD_REQUEST', '--id is required: 1 to 64 letters, digits or . _ @ - (who holds the key, e.g. ris-prod)');
  const roles = (flags.get('roles') ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) throw new AppError('BAD_REQUEST', `--roles must list one or more of ${ROLES.join(', ')}${unknown.length ? ` (not: ${unknown.join(', ')})` : ''}`);
  const { key, sha256 } = generateApiKey();
  const entry = { id, sha256, roles: [...new Set(roles)] as Role[] };
  print(key);
  printErr('The line above is the API key. It is shown only now: give it to its holder (Authorization: Bearer <key> or X-API-Key: <key>).');
  printErr('Add this entry to auth.apiKeys (config file, or CLINICAL_AI_AUTH_API_KEYS as a JSON array, e.g. from a Secret):');
  print(JSON.stringify(entry));
  return 0;
}
