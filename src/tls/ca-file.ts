/**
 * Reading a CA bundle the script names (a backend's `ca = "file"`): the certificates a
 * backend's certificate must chain to. Read and checked at load, so a missing or
 * mistyped file is a load error naming the entry, not a handshake failure at the first
 * request. Node's X509Certificate does the parsing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { LpxError } from '../core/errors.js';
import { glimpse, readProblem } from './read-entry.js';

export interface CaFile {
  /** the absolute path */
  file: string;
  /** the file's bytes: one or more PEM certificates */
  pem: Buffer;
}

/** `given` (relative to `baseDir`) read and checked; `where` prefixes errors, e.g. 'config.lua:7: backends[2].ca' */
export function readCaFile(where: string, given: string, baseDir: string): CaFile {
  const file = path.resolve(baseDir, given);
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LpxError('LPX_CONFIG_INVALID', `${where}: cannot read "${given}": ${readProblem(code)} (${code ?? String(e)}, at ${file})`, { cause: e });
  }
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new LpxError('LPX_CONFIG_INVALID', `${where}: "${given}" is not a PEM file of CA certificates: expected "-----BEGIN CERTIFICATE-----", got ${glimpse(pem)}`);
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (e) {
      throw new LpxError('LPX_CONFIG_INVALID', `${where}: "${given}": certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate (${(e as Error).message})`, { cause: e });
    }
  });
  return { file, pem };
}
