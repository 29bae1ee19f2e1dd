import { ConfidentialClientApplication, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GmsSimulator } from './gms-simulator';
import { postForm } from './gms-simulator.spec-helpers';

/** MSAL's network calls over node:https, trusting the simulator's self-signed certificate. */
function networkClient(ca: string): INetworkModule {
  const call = <T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      const req = request(url, { method, ca, headers: options?.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T }),
        );
      });
      req.on('error', reject);
      req.end(options?.body);
    });
  return { sendGetRequestAsync: (url, options) => call('GET', url, options), sendPostRequestAsync: (url, options) => call('POST', url, options) };
}

function selfSigned(dir: string, name: string, subjectAltName?: string): { key: string; cert: string } {
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${name}`];
  if (subjectAltName) args.push('-addext', `subjectAltName=${subjectAltName}`);
  execFileSync('openssl', args, { stdio: 'ignore' });
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
}

describe('GMS simulator with @azure/msal-node (the gateway\'s Microsoft Client Credentials mode)', () => {
  const tenant = 'contoso';
  const clientId = 'amelia-gateway';
  const scope = 'api://gms-proxy/.default';
  let server: { key: string; cert: string };
  let client: { key: string; cert: string };
  let gms: GmsSimulator;
  let baseUrl: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gms-msal-'));
    server = selfSigned(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
    client = selfSigned(dir, 'gms-client');
    gms = new GmsSimulator({ tls: server, bearerAuth: { tenantId: tenant, clientId, clientCertificate: client.cert, scope } });
    baseUrl = await gms.start();
  });
  afterAll(() => gms.stop());

  it('MSAL obtains a token by certificate, caches it, and the chat API accepts it', async () => {
    const thumbprintSha256 = createHash('sha256').update(new X509Certificate(client.cert).raw).digest('hex');
    const msal = new ConfidentialClientApplication({
      auth: {
        clientId,
        authority: `${baseUrl}/${tenant}`,
        knownAuthorities: [new URL(baseUrl).host],
        clientCertificate: { thumbprintSha256, privateKey: client.key },
      },
      system: { networkClient: networkClient(server.cert) },
    });
    const first = await msal.acquireTokenByClientCredential({ scopes: [scope] });
    const second = await msal.acquireTokenByClientCredential({ scopes: [scope] });
    expect(first?.accessToken).toBeTruthy();
    expect(second?.accessToken).toBe(first?.accessToken);
    expect(gms.tokensIssued).toBe(1);

    const chat = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        gms.chatServiceUrl(),
        { method: 'POST', ca: server.cert, headers: { authorization: `Bearer ${first!.accessToken}`, 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('nickname=Jo');
    });
    expect(chat.status).toBe(200);
    expect(JSON.parse(chat.body).statusCode).toBe(0);
  });

  it('is served over HTTPS only', async () => {
    await expect(postForm(gms.chatServiceUrl().replace('https:', 'http:'), { nickname: 'Jo' })).rejects.toThrow();
  });
});
