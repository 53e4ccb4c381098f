// fastify 5 + @fastify/reply-from (undici underneath). No logs; bodies passed as streams.
// usage: node fastify-proxy.mjs LISTEN_PORT BACKEND_URL
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';

const [port, target] = process.argv.slice(2);
const app = Fastify({ logger: false, bodyLimit: 1 << 30 });
app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
await app.register(replyFrom, { base: target, undici: { connections: 256, pipelining: 1 } });
app.all('/*', (req, reply) => { reply.from(req.url); });
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.send?.('ready');
