/**
 * The routing-test toolkit: load a script and call its routing from TypeScript
 * (loadRouting), run Lua test files (runTests), compare two script versions
 * (diffScripts), check routing properties over a host list (checkHostProperties), and
 * run a script's own `tests` (validateOwnTests). loadRouting and the own tests live in
 * src/routing/, beside the routing step the proxy runs, so a test sees what production sees.
 */
export { loadRouting, RoutingScript, type RouteResult, type RouteRequest, type LoadRoutingOptions } from '../routing/routing-script.js';
export { runTests, runTestFile, type RunOptions, type RunResult, type FileResult, type TestResult, type Failure } from './runner.js';
export { validateOwnTests, runOwnTests } from '../routing/own-tests.js';
export { diffScripts, parseSample, generatedSample, type DiffResult, type SampleRequest } from './diff.js';
export { checkHostProperties, type PropertyProblem } from './properties.js';
export { pretty, tap, junit } from './reporters.js';
