/** Loading a script that must be refused: the error it gets. */
import { loadConfig } from '../../src/config/load.js';
import { LpxError } from '../../src/core/errors.js';

/** the LpxError loading `source` (as `file`) throws; fails the test when the script is accepted */
export function loadProblem(source: string, file = 'config.lua'): LpxError {
  try {
    loadConfig(file, { source });
  } catch (e) {
    if (e instanceof LpxError) return e;
    throw e;
  }
  throw new Error('the script was accepted');
}
