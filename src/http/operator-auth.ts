import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../domain/errors';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The operator role for routes that change jobs. Until the service has full access control, the role is held by
 * whoever presents the configured bearer token (auth.operatorToken); with none configured the routes are disabled
 * (403), never open. 401 without credentials (with WWW-Authenticate), 403 with a token that is not the operator's.
 * Tokens are compared as SHA-256 digests in constant time, so neither length nor content leaks through timing.
 */
export function requireOperator(operatorToken: string): RequestHandler {
  const expected = operatorToken ? digest(operatorToken) : undefined;
  return (req, res, next) => {
    if (!expected) {
      throw new AppError('FORBIDDEN', 'operator actions are disabled: set auth.operatorToken (CLINICAL_AI_AUTH_OPERATOR_TOKEN) to allow them');
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer realm="clinical-ai", scope="operator"');
      throw new AppError('UNAUTHORIZED', 'this route needs the operator role: send Authorization: Bearer <operator token>');
    }
    if (!timingSafeEqual(digest(match[1] as string), expected)) {
      throw new AppError('FORBIDDEN', 'the presented token does not carry the operator role');
    }
    next();
  };
}
