/**
 * The two refusals with a status of their own carry a code of their own: CONNECT gets 405
 * with LPX_CLIENT_METHOD_NOT_ALLOWED and an Expect other than 100-continue gets 417 with
 * LPX_CLIENT_EXPECTATION_FAILED (not LPX_CLIENT_BAD_REQUEST, which is 400 in the catalog).
 * Neither reaches the backend, and each answer's status is the catalog's for its code.
 */
import { describe, it, expect } from 'vitest';
import { errorInfo, type ErrorCode } from '../src/core/errors.js';
import { startBackend } from './helpers/backend.js';
import { startProxy, luaBackends } from './helpers/proxy.js';
import { Wire } from './helpers/wire.js';

describe('CONNECT and an unsupported Expect', () => {
  it.each<[string, number, ErrorCode, string]>([
    ['CONNECT', 405, 'LPX_CLIENT_METHOD_NOT_ALLOWED', 'CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n'],
    ['Expect: foo', 417, 'LPX_CLIENT_EXPECTATION_FAILED', 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: foo\r\n\r\n'],
  ])('%s is answered %i with %s, and the connection closes', async (_name, status, code, request) => {
    const b = await startBackend('b');
    const p = await startProxy(luaBackends([b]) + 'function route() return "b" end\n');
    const w = await Wire.open(p.port);
    try {
      w.write(request);
      const r = await w.response();
      expect(r.status).toBe(status);
      expect(errorInfo(code).status).toBe(status);
      expect(r.header('x-luaproxy-error')).toBe(code);
      expect(await w.closesWithin(2000)).toBe(true);
      expect(b.seen).toHaveLength(0);
    } finally {
      w.close();
      await p.close();
      await b.close();
    }
  });
});
