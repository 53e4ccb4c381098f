// Config files for the benchmark's servers, written into a temp folder: the nginx origin
// (several ports, static 1 KiB and 1 MiB files, a POST sink), nginx and HAProxy as
// proxies (consistent hash on Host, keep-alive upstreams, one worker/thread), and the
// luaproxy script (proxy.hash(host) over the same backends, access logs on). nginx and
// luaproxy can also listen for HTTPS only, with the same certificate file.
import fs from 'node:fs';
import path from 'node:path';

function common(dir, name) {
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, `${name}-tmp`, t), { recursive: true });
  const tmp = path.join(dir, `${name}-tmp`);
  return `user root;
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 19000; multi_accept on; }
http {
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  sendfile on;
  tcp_nopush on;
`;
}

export function nginxOrigin(dir, ports) {
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { recursive: true });
  fs.writeFileSync(path.join(www, '1k'), Buffer.alloc(1024, 'a'));
  fs.writeFileSync(path.join(www, '1m'), Buffer.alloc(1 << 20, 'b'));
  const file = path.join(dir, 'origin.conf');
  fs.writeFileSync(file, `${common(dir, 'origin')}
  access_log off;
  server {
${ports.map((p) => `    listen 127.0.0.1:${p} reuseport backlog=4096;`).join('\n')}
    root ${www};
    default_type application/octet-stream;
    location = /post { client_max_body_size 100m; client_body_buffer_size 1m; return 200 "ok\\n"; }
  }
}
`);
  return file;
}

/** `tls`: { cert, key } files to listen for HTTPS instead (TLS 1.2 and 1.3, as luaproxy's default; h2 and http/1.1 by ALPN, as luaproxy's) */
export function nginxProxy(dir, port, backendPorts, { tls = null, name = 'nginx-proxy' } = {}) {
  const file = path.join(dir, `${name}.conf`);
  const listen = tls
    ? `listen 127.0.0.1:${port} ssl http2 backlog=4096;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    ssl_protocols TLSv1.2 TLSv1.3;`
    : `listen 127.0.0.1:${port} backlog=4096;`;
  // over TLS the line ends with the protocol and whether the session was resumed (r) or not (.)
  const log = tls
    ? `log_format tls '$remote_addr - [$time_local] "$request" $status $body_bytes_sent $ssl_protocol $ssl_session_reused';
  access_log ${dir}/${name}-access.log tls buffer=64k;`
    : `access_log ${dir}/${name}-access.log combined buffer=64k;`;
  fs.writeFileSync(file, `${common(dir, name)}
  ${log}
  upstream be {
    hash $host consistent;
${backendPorts.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 512;
  }
  server {
    ${listen}
    client_max_body_size 100m;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`);
  return file;
}

export function haproxyProxy(dir, port, backendPorts) {
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, `global
  nbthread 1
  maxconn 9000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance hdr(host)
  hash-type consistent
${backendPorts.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`).join('\n')}
`);
  return file;
}

/** the realistic luaproxy script: a few rules, then proxy.hash(host); access log on. `tls`: { cert, key } to listen for HTTPS instead */
export function luaproxyScript(dir, port, backendPorts, variant = '', { access = true, name = 'luaproxy.lua', tls = null } = {}) {
  const file = path.join(dir, name);
  // wrk sends the URL's host (127.0.0.1) as the server name: the default certificate answers it
  const listen = tls
    ? `listen = { { address = "127.0.0.1:${port}", tls = true } }
tls = { certificates = { { cert = ${JSON.stringify(tls.cert)}, key = ${JSON.stringify(tls.key)} } }, default = "localhost" }`
    : `listen = "127.0.0.1:${port}"`;
  fs.writeFileSync(file, `-- bench config ${variant}
${listen}
backends = {
${backendPorts.map((p, i) => `  { name = "app${i + 1}", url = "http://127.0.0.1:${p}" },`).join('\n')}
}
log = { access = ${access}, level = "info" }

function route(host, path, req)
  if path:sub(1, 7) == "/admin/" then return { status = 403, body = "forbidden\\n" } end
  return proxy.hash(host)
end
`);
  return file;
}
