/**
 * The one header policy of luaproxy: which fields belong to one connection and never
 * cross the proxy, which ones frame a message, and which ones a route result may not set
 * for the backend. The parser's kind codes (parse.ts), the heads the proxy writes
 * (proxy/headers.ts) and the check of a route's headers (lua/script.ts) all read these
 * lists, so the proxy never strips one set of headers and refuses another. Hop-by-hop is
 * RFC 9110 7.6.1's list plus the fields that old clients and proxies treat as
 * connection-specific: Proxy-Authenticate and Proxy-Authorization (credentials for this
 * hop only, RFC 9110 11.7), Trailer (the proxy rewrites framing, so the trailer
 * announcement of the original message does not hold) and HTTP2-Settings (an h2c upgrade
 * parameter, RFC 7540 3.2.1). A route may not set these nor the framing nor Expect: a
 * value from a script there could desync the backend's parser from the proxy's.
 * Names are lower case.
 */

/** RFC 9110 7.6.1: Connection and the fields it names as connection-specific */
const RFC_HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade'] as const;

/** every header that never crosses the proxy: RFC 9110's list and the de-facto ones above */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  ...RFC_HOP_BY_HOP,
  'proxy-authenticate', 'proxy-authorization', 'trailer', 'http2-settings',
]);

/** the headers that delimit a message body (RFC 9112 6): the proxy always writes its own */
export const FRAMING: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding']);

/** headers a route result may not set for the backend: framing, hop-by-hop and Expect */
export const ROUTE_MAY_NOT_SET: ReadonlySet<string> = new Set([...FRAMING, ...HOP_BY_HOP, 'expect']);
