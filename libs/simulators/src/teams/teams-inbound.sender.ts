import { randomBytes, randomUUID } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { signJwt } from './teams-jwt';
import { BOT_FRAMEWORK_ISSUER, TeamsKeyService } from './teams-key.service';
import { InboundFault, TeamsInboundDelivery } from './teams-simulator.types';

export interface TeamsDeliveryResult {
  status: number;
  body: string;
}

const HOUR_SECONDS = 3600;
const MINUTE_SECONDS = 60;

/**
 * The Connector's side of a delivery to a bot: signs the request as Azure Bot Service does (RS256, `iss`
 * api.botframework.com, `aud` the app id, `serviceurl`), or spoils the signature in one of the ways a validator must
 * catch, POSTs the activity with the `x-ms-*` routing headers, and records the status. A bot that does not answer in
 * time counts as 504, as Azure Bot Service reports it.
 */
export class TeamsInboundSender {
  constructor(
    private readonly keys: TeamsKeyService,
    private readonly clock: SimulatorClock,
    private readonly deliveries: TeamsInboundDelivery[],
    readonly timeoutMs: number,
  ) {}

  /** The `Authorization` header value for an activity to `appId` (undefined for the `no_header` fault). */
  authorization(appId: string, serviceUrl: string, fault?: InboundFault): string | undefined {
    if (fault === 'no_header') return undefined;
    const now = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = { serviceurl: serviceUrl, nbf: now, exp: now + HOUR_SECONDS, iss: BOT_FRAMEWORK_ISSUER, aud: appId };
    let key = this.keys.signing;
    switch (fault) {
      case 'expired':
        Object.assign(claims, { nbf: now - 2 * HOUR_SECONDS, exp: now - HOUR_SECONDS });
        break;
      case 'not_yet_valid':
        Object.assign(claims, { nbf: now + 10 * MINUTE_SECONDS, exp: now + 70 * MINUTE_SECONDS });
        break;
      case 'within_skew':
        // Expired two minutes ago: inside the 5 minute tolerance, so a correct validator still accepts it.
        Object.assign(claims, { nbf: now - 62 * MINUTE_SECONDS, exp: now - 2 * MINUTE_SECONDS });
        break;
      case 'wrong_audience':
        claims.aud = randomUUID();
        break;
      case 'wrong_issuer':
        claims.iss = 'https://issuer.invalid';
        break;
      case 'wrong_service_url':
        claims.serviceurl = 'https://smba.trafficmanager.net.invalid/amer/';
        break;
      case 'unknown_key':
        key = this.keys.unpublished;
        break;
      case 'missing_endorsement':
        key = this.keys.unendorsed;
        break;
    }
    let token = signJwt(claims, key);
    if (fault === 'bad_signature') token = `${token.slice(0, token.lastIndexOf('.'))}.${randomBytes(256).toString('base64url')}`;
    return `${fault === 'lowercase_bearer' ? 'bearer' : 'Bearer'} ${token}`;
  }

  async deliver(
    appId: string,
    endpoint: string,
    activity: Record<string, any>,
    options: { fault?: InboundFault; headers?: Record<string, string> } = {},
  ): Promise<TeamsDeliveryResult> {
    const at = this.clock.now();
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)',
      'x-ms-conversation-id': activity.conversation?.id ?? '',
      'x-ms-tenant-id': activity.conversation?.tenantId ?? activity.channelData?.tenant?.id ?? '',
      ...options.headers,
    };
    const authorization = this.authorization(appId, String(activity.serviceUrl ?? ''), options.fault);
    if (authorization) headers.authorization = authorization;
    const abort = new AbortController();
    const timedOut = this.clock.wait(this.timeoutMs, abort.signal).then(() => undefined);
    let result: TeamsDeliveryResult;
    try {
      const answered = fetch(endpoint, { method: 'POST', headers, body: JSON.stringify(activity), signal: abort.signal }).then(async (res) => ({
        status: res.status,
        body: await res.text(),
      }));
      result = (await Promise.race([answered, timedOut])) ?? { status: 504, body: '' };
    } catch (error) {
      // Nobody listening (or the connection dropped): Azure Bot Service reports a bad gateway to the sender.
      result = { status: abort.signal.aborted ? 504 : 502, body: (error as Error).message };
    } finally {
      abort.abort();
    }
    this.deliveries.push({ activityId: String(activity.id ?? ''), type: String(activity.type ?? ''), status: result.status, at });
    return result;
  }
}
