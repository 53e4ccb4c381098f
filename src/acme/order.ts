/**
 * One certificate order, through acme-client (RFC 8555; a well-kept library, not a
 * home-made client): a fresh key of the configured type, a CSR for the one name, and
 * acme-client's auto() with the HTTP-01 challenge published where every plain listener
 * (and every instance sharing the storage) answers it. auto()'s own pre-check of the
 * challenge (over the system's DNS and port 80) is skipped: the ACME server validates,
 * and a proxy behind NAT or a balancer often cannot reach itself by its public name.
 *
 * acme-client is loaded on first use, so a proxy without `acme` never pays for it.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { AcmeKeyType } from '../config/acme.js';

type AcmeModule = typeof import('acme-client');
let loaded: Promise<AcmeModule> | null = null;
let agent: https.Agent | null = null;
/** where acme-client's debug lines go (the order in progress names its name) */
let debugSink: ((msg: string) => void) | null = null;
/** the last network error acme-client retried on: after its last retry it throws a TypeError that lost it (5.4.0) */
let lastNetworkError: string | null = null;
let agentCa: string | null = null;

/** acme-client, with its HTTP client told how long to wait and how often to retry (pinned 5.4.0: `acmeSettings` is its retry knob) */
function acmeClient(): Promise<AcmeModule> {
  loaded ??= import('acme-client').then((m) => {
    m.setLogger((msg) => {
      const caught = /^Caught (\S+),/.exec(msg);
      if (caught) lastNetworkError = caught[1];
      debugSink?.(msg);
    });
    const axios = m.axios as unknown as { defaults: { timeout?: number; acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } } };
    axios.defaults.timeout = 30_000;
    // an ACME server that is down fails an order in seconds (then the name backs off), not after 75 s of retries
    if (axios.defaults.acmeSettings) Object.assign(axios.defaults.acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 1 });
    return m;
  });
  return loaded;
}

export interface ChallengeSink {
  put(token: string, keyAuthorization: string): void;
  remove(token: string): void;
}

export interface OrderRequest {
  directory: string;
  email: string | null;
  /** extra CAs for the ACME server's own HTTPS */
  ca: Buffer | null;
  accountKey: Buffer;
  name: string;
  keyType: AcmeKeyType;
  challenges: ChallengeSink;
  /** acme-client's debug lines (log level debug) */
  debug?: (msg: string) => void;
}

/** a new account key (ECDSA P-256) */
export async function newAccountKey(): Promise<Buffer> {
  const acme = await acmeClient();
  return acme.crypto.createPrivateEcdsaKey('P-256');
}

/** order a certificate for `req.name`; resolves with the PEM chain and the PEM key, rejects with the ACME server's problem or a network error */
export async function orderCertificate(req: OrderRequest): Promise<{ certPem: string; keyPem: string }> {
  const acme = await acmeClient();
  debugSink = req.debug ?? null;
  // one process orders with one configuration: the agent is the instance's default, made anew when the CA changes
  const caPem = req.ca?.toString('utf8') ?? null;
  if (agent === null || agentCa !== caPem) {
    agent = new https.Agent({ ca: caPem === null ? undefined : [...tls.rootCertificates, caPem] });
    agentCa = caPem;
    (acme.axios as unknown as { defaults: { httpsAgent?: https.Agent } }).defaults.httpsAgent = agent;
  }
  const key = req.keyType.startsWith('rsa')
    ? await acme.crypto.createPrivateRsaKey(Number(req.keyType.slice(4)))
    : await acme.crypto.createPrivateEcdsaKey(req.keyType === 'ecdsa-p384' ? 'P-384' : 'P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: req.name, altNames: [req.name] }, key);
  const client = new acme.Client({ directoryUrl: req.directory, accountKey: req.accountKey, backoffAttempts: 12, backoffMin: 300, backoffMax: 5_000 });
  lastNetworkError = null;
  const cert = await client.auto({
    csr,
    email: req.email ?? undefined,
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => req.challenges.put(challenge.token, keyAuthorization),
    challengeRemoveFn: async (_authz, challenge) => req.challenges.remove(challenge.token),
  }).catch((e: unknown) => {
    // acme-client 5.4.0 turns a network error, once retried, into "Cannot read properties of undefined (reading 'config')"
    if (e instanceof TypeError && /reading 'config'/.test(e.message)) {
      throw new Error(`cannot reach the ACME server at ${req.directory} (${lastNetworkError ?? 'a network error'})`, { cause: e });
    }
    throw e;
  });
  return { certPem: cert, keyPem: key.toString('utf8') };
}
