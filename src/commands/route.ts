/**
 * `luaproxy route config.lua HOST [TARGET]`: print what the routing step decides for one
 * request, and why. The request goes through the proxy's own routing step (a RouteCall
 * handed to decide()), so what this prints is what the live proxy would do.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { describe, toResult } from '../core/decision.js';
import { RouteCall, requestSource } from '../routing/call.js';
import { decide } from '../routing/decide.js';

export function registerRoute(program: Command): void {
  program
    .command('route')
    .alias('explain')
    .description('print the decision route() makes for a host and path (no sockets opened)')
    .argument('<config>', 'the script')
    .argument('<host>', 'the Host header, as a client would send it')
    .argument('[path]', 'the request target as a client would send it: a path with or without a query, or an http:// URL', '/')
    .option('-X, --method <method>', 'request method', 'GET')
    .option('-H, --header <header...>', 'request header "name: value" (repeatable)')
    .option('--client <address>', 'the client address route sees as req.client', '127.0.0.1')
    .option('--json', 'print the decision as JSON')
    .addHelpText('after', '\nExample:\n  $ luaproxy route config.lua IronHand.example.com /user/fred/webapps/x.example.com/reload')
    .action((file: string, rawHost: string, target: string, o: { method: string; header?: string[]; client: string; json?: boolean }) => {
      const lines: string[] = [];
      const cfg = loadConfig(file, { log: (level, msg, where) => lines.push(`${where}: [${level}] ${msg}`) });
      const headers: Array<[string, string]> = [];
      for (const h of o.header ?? []) {
        const i = h.indexOf(':');
        if (i > 0) headers.push([h.slice(0, i).trim(), h.slice(i + 1).trim()]);
      }
      const call = new RouteCall(requestSource(o.method, target, rawHost, headers), o.client);
      const d = decide(cfg, call);
      if (d.kind === 'error') throw d.error;
      const backendUrl = d.kind === 'backend' ? cfg.backends[d.index].url : undefined;
      if (o.json) {
        const out = { host: rawHost, normalized_host: call.host, path: call.path, url: call.url, target: call.target, decision: toResult(d), backend_url: backendUrl, log: lines };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      const out: string[] = [];
      if (d.kind === 'refused') out.push(`request:  ${JSON.stringify(rawHost)} ${JSON.stringify(target)}`);
      else {
        out.push(`host:     ${JSON.stringify(rawHost)} -> route sees ${JSON.stringify(call.host)} (lower-cased, port and trailing dot removed)`);
        const q = call.url.indexOf('?');
        const sent = q < 0 ? call.url : call.url.slice(0, q);
        out.push(`path:     ${sent !== call.path ? `${JSON.stringify(sent)} -> route sees ` : ''}${JSON.stringify(call.path)}${q >= 0 ? ` (query ${JSON.stringify(call.url.slice(q + 1))} is req.query, not part of path)` : ''}`);
      }
      out.push(`decision: ${describe(d)}`);
      if (d.kind === 'backend') out.push(`backend:  ${backendUrl}${call.target}`);
      for (const l of lines) out.push(`log:      ${l}`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
