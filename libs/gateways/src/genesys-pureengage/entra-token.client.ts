import { AuthenticationResult, ConfidentialClientApplication, INetworkModule, LogLevel, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { GatewayError, OutboundHttp, OutboundRefused, TokenCallContext } from '@app/gateway-sdk';
import { MicrosoftAuthSettings } from './genesys-pureengage.settings';


/** Tokens are renewed this long before they expire (at most half their lifetime), so no call carries a dying token. */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Bearer tokens for the "Microsoft Client Credentials Auth" mode: Entra ID client-credentials grant with a certificate
 * assertion, through @azure/msal-node. Tokens live only in the context's keyed cache. MSAL's own cache is not used: a
 * ConfidentialClientApplication is built per acquisition (rare, thanks to the cache) so no credential sits on a shared
 * object, and its network calls (the authority's metadata, then the token endpoint it names) go through the context's
 * outbound fetch, bound to this call's signal and the token timeout.
 */
export class EntraTokenClient {
  static cacheKey(auth: MicrosoftAuthSettings): string {
    return `entra:${auth.authority}|${auth.clientId}|${auth.scope}`;
  }

  /** A valid token from the cache, or a new one. */
  async token(ctx: TokenCallContext, auth: MicrosoftAuthSettings): Promise<string> {
    const cached = ctx.tokens.get(EntraTokenClient.cacheKey(auth));
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    return this.acquire(ctx, auth);
  }

  /** Forgets the cached token (the API refused it). */
  invalidate(ctx: TokenCallContext, auth: MicrosoftAuthSettings): void {
    ctx.tokens.delete(EntraTokenClient.cacheKey(auth));
  }

  private async acquire(ctx: TokenCallContext, auth: MicrosoftAuthSettings): Promise<string> {
    const credential = readClientCertificate(auth.certificatePem, auth.privateKeyPassword);
    const timeout = AbortSignal.timeout(auth.tokenTimeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    const seen: Seen = {};
    const msal = new ConfidentialClientApplication({
      auth: {
        clientId: auth.clientId,
        authority: auth.authority,
        // Naming the authority's host as known skips Microsoft's instance discovery, which also makes private
        // authorities (a proxy's own issuer, the simulator) work; MSAL then reads the authority's OIDC metadata.
        knownAuthorities: [new URL(auth.authority).host],
        clientCertificate: credential,
      },
      system: {
        networkClient: this.networkClient(ctx.http, signal, seen),
        // Retrying is the service's job (API Retry settings); MSAL would otherwise repeat 5xx answers itself.
        disableInternalRetries: true,
        loggerOptions: {
          logLevel: LogLevel.Warning,
          piiLoggingEnabled: false,
          loggerCallback: (_level, message) => ctx.logger.debug('msal', { message }),
        },
      },
    });
    let result: AuthenticationResult | null;
    try {
      result = await untilAborted(msal.acquireTokenByClientCredential({ scopes: [auth.scope], skipCache: true }), signal);
    } catch (error) {
      throw classify(error, seen, timeout, auth);
    }
    if (!result?.accessToken) {
      // MSAL resolves null on some server failures (seen with HTTP 503) instead of throwing.
      if (seen.status !== undefined && isTransientStatus(seen.status)) throw new GatewayError('transient', `Token authority answered HTTP ${seen.status}`, { status: seen.status });
      throw new GatewayError('auth_failed', 'The token endpoint returned no access token', { status: seen.status });
    }
    const now = Date.now();
    // MSAL rounds expiresOn to whole seconds after the answer; counting expires_in from before the request is safer.
    const measured = seen.expiresIn !== undefined && seen.tokenRequestedAt !== undefined ? seen.tokenRequestedAt + seen.expiresIn * 1000 : Infinity;
    const expiresOn = Math.min(result.expiresOn?.getTime() ?? now + 10 * 60_000, measured);
    const renewAt = expiresOn - Math.min(RENEW_BEFORE_MS, Math.max(0, (expiresOn - now) / 2));
    ctx.tokens.set(EntraTokenClient.cacheKey(auth), result.accessToken, renewAt);
    ctx.logger.debug('obtained an Entra access token', { authority: auth.authority, clientId: auth.clientId, expiresOn: new Date(expiresOn).toISOString() });
    return result.accessToken;
  }

  private networkClient(http: OutboundHttp, signal: AbortSignal, seen: Seen): INetworkModule {
    const call = async <T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
      const requestedAt = Date.now();
      let response: Response;
      try {
        response = await http.fetch(url, { method, headers: options?.headers, body: options?.body, signal });
      } catch (error) {
        seen.networkError = error;
        throw error;
      }
      seen.status = response.status;
      const text = await response.text();
      let body: unknown = {};
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        // A proxy's HTML error page: MSAL reports the status; the body has nothing for it.
      }
      const expiresIn = Number((body as { expires_in?: unknown })?.expires_in);
      if (method === 'POST' && Number.isFinite(expiresIn) && expiresIn > 0) {
        seen.expiresIn = expiresIn;
        seen.tokenRequestedAt = requestedAt;
      }
      return { status: response.status, headers: Object.fromEntries(response.headers), body: body as T };
    };
    return {
      sendGetRequestAsync: (url, options) => call('GET', url, options),
      sendPostRequestAsync: (url, options) => call('POST', url, options),
    };
  }
}

/** MSAL wants the leaf's SHA-256 thumbprint, an unencrypted PKCS#8 key, and the chain for the x5c header. */
export function readClientCertificate(pem: string, password?: string): { thumbprintSha256: string; privateKey: string; x5c: string } {
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certificates) throw new GatewayError('auth_failed', 'The Microsoft certificate setting holds no PEM certificate');
  const keyBlock = pem.match(/-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/);
  if (!keyBlock) throw new GatewayError('auth_failed', 'The Microsoft certificate setting holds no PEM private key');
  let key: KeyObject;
  let leaf: X509Certificate;
  try {
    key = createPrivateKey({ key: keyBlock[0], format: 'pem', passphrase: password });
  } catch (error) {
    const encrypted = keyBlock[1].startsWith('ENCRYPTED') || /Proc-Type: 4,ENCRYPTED/.test(keyBlock[0]);
    const reason = encrypted ? (password ? 'wrong Encrypted Private Key Password' : 'the key is encrypted and no password is set') : 'unreadable key';
    throw new GatewayError('auth_failed', `The Microsoft private key cannot be used: ${reason}`, { cause: error });
  }
  try {
    leaf = new X509Certificate(certificates[0]);
  } catch (error) {
    throw new GatewayError('auth_failed', 'The first Microsoft certificate cannot be read', { cause: error });
  }
  if (!leaf.checkPrivateKey(key)) throw new GatewayError('auth_failed', 'The Microsoft private key does not belong to the first certificate of the chain');
  return {
    thumbprintSha256: leaf.fingerprint256.replace(/:/g, '').toLowerCase(),
    privateKey: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    x5c: certificates.join('\n'),
  };
}

/** What the network client observed during one acquisition, for error classification and expiry. */
interface Seen {
  status?: number;
  networkError?: unknown;
  expiresIn?: number;
  tokenRequestedAt?: number;
}

function classify(error: unknown, seen: Seen, timeout: AbortSignal, auth: MicrosoftAuthSettings): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (timeout.aborted) return new GatewayError('transient', `No access token within ${auth.tokenTimeoutMs / 1000} s`, { cause: error });
  if (seen.networkError instanceof OutboundRefused) {
    return new GatewayError('invalid_request', `Token authority refused by the outbound policy: ${seen.networkError.message}`, { cause: error });
  }
  if (seen.networkError !== undefined) return new GatewayError('transient', `Token authority unreachable: ${describe(seen.networkError)}`, { cause: error });
  if (seen.status !== undefined && isTransientStatus(seen.status)) {
    return new GatewayError('transient', `Token authority answered HTTP ${seen.status}`, { status: seen.status, cause: error });
  }
  if ((error as { name?: string })?.name === 'AbortError' || (error as { name?: string })?.name === 'TimeoutError') {
    return new GatewayError('transient', 'Token request aborted', { cause: error });
  }
  // Entra refused the client (unknown client, bad assertion, bad scope...): an operator must fix the settings.
  return new GatewayError('auth_failed', `Entra ID refused the client credentials: ${message}`, { status: seen.status, cause: error });
}

function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** MSAL has no cancellation: stop waiting for it when the signal fires (its network calls are aborted by the same signal). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
