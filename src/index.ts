/**
 * The TypeScript API of luaproxy: load a script, call its routing, and run the proxy
 * from code. See docs/testing.md for using it in vitest.
 */
export { loadConfig, type Config, type BackendSpec, type LoadOptions } from './config/load.js';
export { defaults, type Settings } from './config/defaults.js';
export { normalizeHost } from './core/host.js';
export { LpxError, isLpxError, codes, errorInfo, errorCodes, type ErrorCode, type ErrorInfo } from './core/errors.js';
export { start, type StartOptions, type Running } from './app.js';
export type { Decision } from './core/decision.js';
export { decide } from './routing/decide.js';
export { RouteCall, requestSource, type RequestSource } from './routing/call.js';
export {
  loadRouting, RoutingScript, runTests, validateOwnTests, diffScripts, checkHostProperties, parseSample, generatedSample,
  type RouteResult, type RouteRequest, type LoadRoutingOptions, type RunOptions, type RunResult, type DiffResult, type SampleRequest, type PropertyProblem,
} from './testing/index.js';
