/** How a script value is named in an error message ("got string \"x\"", "got a table"), the same in every part of the config. */
import { LuaFunctionRef, type LuaPlain } from '../lua/values.js';

export function describe(v: LuaPlain | undefined): string {
  if (v === null || v === undefined) return 'nil';
  if (v instanceof LuaFunctionRef) return `a function (${v.where})`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a table';
  return `${typeof v} ${JSON.stringify(v)}`;
}
