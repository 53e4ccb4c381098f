/** `luaproxy route config.lua HOST PATH`: print what route() decides for one request, and why. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { normalizeHost } from '../core/host.js';
import { normalizePath } from '../core/path.js';

export function registerRoute(program: Command): void {
  program
    .command('route')
    .alias('explain')
    .description('print the decision route() makes for a host and path (no sockets opened)')
    .argument('<config>', 'the script')
    .argument('<host>', 'the Host header, as a client would send it')
    .argument('[path]', 'the request path, with or without a query', '/')
    .option('-X, --method <method>', 'request method', 'GET')
    .option('-H, --header <header...>', 'request header "name: value" (repeatable)')
    .option('--json', 'print the decision as JSON')
    .addHelpText('after', '\nExample:\n  $ luaproxy route config.lua IronHand.example.com /user/fred/webapps/x.example.com/reload')
    .action((file: string, rawHost: string, target: string, o: { method: string; header?: string[]; json?: boolean }) => {
      const lines: string[] = [];
      const cfg = loadConfig(file, { log: (level, msg, where) => lines.push(`${where}: [${level}] ${msg}`) });
      const host = normalizeHost(rawHost);
      if (host === null) throw new Error(`"${rawHost}" is not a valid Host header; the proxy would answer 400`);
      const q = target.indexOf('?');
      const sent = q < 0 ? target : target.slice(0, q);
      const path = normalizePath(sent); // as the proxy does before route: /x/../admin is /admin
      const headers: Record<string, string> = { host: rawHost };
      for (const h of o.header ?? []) {
        const i = h.indexOf(':');
        if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      const outcome = cfg.route(Buffer.from(host, 'latin1'), Buffer.from(path, 'latin1'), { method: o.method.toUpperCase(), url: target, headers, socket: { remoteAddress: '127.0.0.1' } });
      let decision: Record<string, unknown>;
      if (outcome.kind === 'backend') {
        const b = cfg.backends[outcome.index];
        decision = { action: 'forward', backend: b.name, url: b.url, path: outcome.path ?? target, headers: outcome.headers ? Object.fromEntries(outcome.headers) : undefined };
      } else if (outcome.kind === 'respond') {
        decision = { action: 'respond', status: outcome.status, headers: outcome.headers ? Object.fromEntries(outcome.headers) : undefined, body: outcome.body?.toString('utf8') };
      } else decision = { action: 'respond', status: 404, reason: 'route returned nil (no route)' };
      if (o.json) {
        process.stdout.write(JSON.stringify({ host: rawHost, normalized_host: host, path, decision, log: lines }, null, 2) + '\n');
        return;
      }
      const out = [`host:     ${JSON.stringify(rawHost)} -> route sees ${JSON.stringify(host)} (lower-cased, port and trailing dot removed)`, `path:     ${sent !== path ? `${JSON.stringify(sent)} -> route sees ` : ''}${JSON.stringify(path)}${q >= 0 ? ` (query ${JSON.stringify(target.slice(q + 1))} is not part of path)` : ''}`];
      if (decision.action === 'forward') {
        out.push(`decision: forward to backend ${JSON.stringify(decision.backend)} (${decision.url})${outcome.kind === 'backend' && outcome.path ? `, path rewritten to ${outcome.path}` : ''}`);
        if (decision.headers) out.push(`headers:  ${JSON.stringify(decision.headers)}`);
      } else {
        out.push(`decision: answer ${decision.status} directly${decision.reason ? ` (${decision.reason})` : ''}`);
        if (decision.headers) out.push(`headers:  ${JSON.stringify(decision.headers)}`);
        if (decision.body) out.push(`body:     ${JSON.stringify(decision.body)}`);
      }
      for (const l of lines) out.push(`log:      ${l}`);
      process.stdout.write(out.join('\n') + '\n');
    });
}
