import { ChatGateway, EscalationPolicy, GatewayError, OutboundMessage, PlatformUpdate } from '@app/gateway-sdk';
import { AppLogger } from '../common/app-logger';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { EscalationEntity, RelayCommandEntity } from '../database/entities';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { RedisLock } from '../queues/redis-lock';
import { EscalationContexts } from './escalation-contexts.service';
import { EscalationLifecycle } from './escalation-lifecycle.service';
import { EscalationPolicyResolver } from './escalation-policy';
import { EscalationRecorder } from './escalation-recorder.service';
import { EscalationsRepository } from './escalations.repository';
import { RELAY_LEASE_MS, RelayDrainer } from './relay-drainer.service';
import { RelayCommandsRepository } from './relay-commands.repository';

const ESCALATION = 'esc-1';
const NOW = new Date('2026-12-07T10:00:04.000Z');

/** A promise the test settles by hand: holds a platform call open while the test moves the clock. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * The escalation, its relay commands, its relay lease and the platform, in memory: what the drainer's repositories
 * and collaborators would read and write.
 */
class RelayWorld {
  escalation = { id: ESCALATION, state: 'active', gatewayId: 'gw-1', conversationId: 'conv-1', sessionEnc: null, sessionGoneAt: null } as EscalationEntity;
  control: 'bot' | 'agent' = 'bot';
  commands: RelayCommandEntity[] = [];
  /** Whose the relay lease is (a drainer's token), null when free. */
  leaseHolder: string | null = null;
  leaseTakes = 0;
  /** What the platform was sent, in order. */
  sent: string[] = [];
  jobs: { token: string; delayMs: number }[] = [];
  recorded: { types: string[] }[] = [];
  /** The platform's answer to each send; a test replaces it to hold a call open or fail it. */
  platform: (message: OutboundMessage) => Promise<PlatformUpdate> = async () => ({ events: [] });
  /** Runs when a drainer gives its lease back (a command committed meanwhile, say). */
  onRelease: () => void = () => undefined;

  command(seq: number, fields: Partial<RelayCommandEntity> = {}): RelayCommandEntity {
    const command = {
      id: `cmd-${seq}`,
      escalationId: ESCALATION,
      seq,
      kind: 'message',
      author: 'user',
      clientMessageId: null,
      payload: { text: `message ${seq}` },
      status: 'pending',
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      ...fields,
    } as RelayCommandEntity;
    this.commands.push(command);
    return command;
  }

  status(): Record<number, string> {
    return Object.fromEntries(this.commands.map((command) => [command.seq, command.status]));
  }

  escalations = {
    get: async () => ({ ...this.escalation }),
    takeRelayLease: async (_id: string, token: string) => {
      // A drainer that keeps taking the lease back spins on the database; fail instead of hanging the test.
      if (++this.leaseTakes > 50) throw new Error('the drainer took the lease 50 times in one relay');
      if (this.leaseHolder !== null) return false;
      this.leaseHolder = token;
      return true;
    },
    renewRelayLease: async (_id: string, token: string) => this.leaseHolder === token,
    releaseRelayLease: async (_id: string, token: string) => {
      if (this.leaseHolder === token) this.leaseHolder = null;
      this.onRelease();
    },
    session: () => null,
    clearSessionGone: async () => undefined,
  };

  relayCommands = {
    nextPending: async () => this.commands.filter((c) => c.status === 'pending').sort((a, b) => a.seq - b.seq)[0] ?? null,
    hasDue: async () =>
      ['queued', 'active'].includes(this.escalation.state) && this.commands.some((c) => c.status === 'pending' && (!c.nextAttemptAt || c.nextAttemptAt.getTime() <= Date.now())),
    settle: async (id: string, status: RelayCommandEntity['status'], error: string | null) => {
      const command = this.commands.find((c) => c.id === id)!;
      Object.assign(command, { status, lastError: error, attempts: command.attempts + 1 });
    },
    retryAt: async (id: string, attempts: number, nextAt: Date, error: string) => {
      Object.assign(this.commands.find((c) => c.id === id)!, { attempts, nextAttemptAt: nextAt, lastError: error });
    },
  };

  gateway = {
    sendMessage: async (_ctx: unknown, message: OutboundMessage) => {
      // As with the lease: a drainer sending for ever would hang the test rather than fail it.
      if (this.sent.length >= 50) throw new Error('the drainer sent 50 commands in one relay');
      this.sent.push(message.text!);
      return this.platform(message);
    },
  };

  drainer(): RelayDrainer {
    const policy: EscalationPolicy = { transferBackOnAgentClose: true, agentOverride: 'agent_name_only', escalationTimeoutSeconds: 600, apiRetry: { maxAttempts: 5, initialDelayMs: 4200, multiplier: 2 } };
    const conversations = { control: async () => this.control };
    const recorder = { record: async (_id: string, input: { events: { type: string }[] }) => this.recorded.push({ types: input.events.map((e) => e.type) }) };
    const lifecycle = { sessionEndedUnderRelay: async () => undefined };
    const contexts = { gatewayOf: async () => ({ gateway: this.gateway as unknown as ChatGateway, entity: {} }), context: () => ({}) };
    const policies = { forGateway: async () => policy };
    const jobs = { relay: async (_id: string, token: string, delayMs = 0) => this.jobs.push({ token, delayMs }) };
    // The Redis lock is covered by its integration test: here it lets every call through.
    const lock = { coalesce: async (_name: string, _ttl: number, fn: () => Promise<unknown>) => fn() };
    return new RelayDrainer(
      this.escalations as unknown as EscalationsRepository,
      this.relayCommands as unknown as RelayCommandsRepository,
      conversations as unknown as ConversationsRepository,
      recorder as unknown as EscalationRecorder,
      lifecycle as unknown as EscalationLifecycle,
      contexts as unknown as EscalationContexts,
      policies as unknown as EscalationPolicyResolver,
      jobs as unknown as JobDispatcher,
      lock as unknown as RedisLock,
      new AppLogger('silent', { write: () => undefined }),
    );
  }
}

describe('RelayDrainer', () => {
  let world: RelayWorld;

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW });
    world = new RelayWorld();
  });
  afterEach(() => jest.useRealTimers());

  it('sends the pending commands in their order, then gives the lease back', async () => {
    world.command(3);
    world.command(1);
    world.command(2);
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual(['message 1', 'message 2', 'message 3']);
    expect(world.status()).toEqual({ 1: 'sent', 2: 'sent', 3: 'sent' });
    expect(world.leaseHolder).toBeNull();
  });

  it('stops before the next command once a renewal found the lease taken by another drainer', async () => {
    world.command(1);
    world.command(2);
    const answer = deferred<PlatformUpdate>();
    const sending = deferred<void>();
    world.platform = () => {
      sending.resolve();
      return answer.promise;
    };
    const relaying = world.drainer().relay(ESCALATION);
    await sending.promise;
    // The platform is slow: the lease ran out and another drainer took it before this one's renewal.
    world.leaseHolder = 'another drainer';
    await jest.advanceTimersByTimeAsync(Math.ceil(RELAY_LEASE_MS / 3));
    answer.resolve({ events: [] });
    await relaying;
    expect(world.sent).toEqual(['message 1']);
    expect(world.status()).toEqual({ 1: 'sent', 2: 'pending' });
    expect(world.leaseHolder).toBe('another drainer');
  });

  it('goes on with the next command while each renewal keeps the lease', async () => {
    world.command(1);
    world.command(2);
    const answer = deferred<PlatformUpdate>();
    const sending = deferred<void>();
    world.platform = () => {
      sending.resolve();
      return answer.promise;
    };
    const relaying = world.drainer().relay(ESCALATION);
    await sending.promise;
    await jest.advanceTimersByTimeAsync(RELAY_LEASE_MS * 2);
    world.platform = async () => ({ events: [] });
    answer.resolve({ events: [] });
    await relaying;
    expect(world.sent).toEqual(['message 1', 'message 2']);
  });

  it('sends nothing without the lease and looks again once the holder would have let it run out', async () => {
    world.command(1);
    world.leaseHolder = 'another drainer';
    await world.drainer().relay(ESCALATION);
    await jest.advanceTimersByTimeAsync(1_000);
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual([]);
    expect(world.jobs).toHaveLength(2);
    expect(world.jobs[0].delayMs).toBeGreaterThan(RELAY_LEASE_MS);
    // Drainers turned away within one lease period ask for the same job, so that one look is made, not one each.
    expect(world.jobs[1]).toEqual(world.jobs[0]);
    expect(world.leaseHolder).toBe('another drainer');
  });

  it('schedules a command that waits for a retry for then instead of sending it, and the ones behind it wait', async () => {
    world.command(1, { attempts: 2, nextAttemptAt: new Date(NOW.getTime() + 5_000) });
    world.command(2);
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual([]);
    expect(world.jobs).toEqual([{ token: 'retry-1-2', delayMs: 5_000 }]);
    expect(world.status()).toEqual({ 1: 'pending', 2: 'pending' });
    expect(world.leaseTakes).toBe(1);
    expect(world.leaseHolder).toBeNull();
  });

  it('sends a command whose retry time has come', async () => {
    world.command(1, { attempts: 2, nextAttemptAt: new Date(NOW.getTime() - 1) });
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual(['message 1']);
    expect(world.jobs).toEqual([]);
  });

  it('retries a command the platform failed for a moment after the API retry backoff, holding the ones behind it', async () => {
    world.command(1);
    world.command(2);
    world.platform = async () => {
      throw new GatewayError('transient', 'platform answered 503');
    };
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual(['message 1']);
    // The policy's first retry: its initial delay.
    expect(world.jobs).toEqual([{ token: 'retry-1-1', delayMs: 4200 }]);
    expect(world.commands[0]).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: new Date(NOW.getTime() + 4200) });
    expect(world.status()).toEqual({ 1: 'pending', 2: 'pending' });
    expect(world.leaseTakes).toBe(1);
  });

  it("skips the bot's messages while an agent controls the conversation and sends the user's", async () => {
    world.control = 'agent';
    world.command(1, { author: 'bot', payload: { text: 'from the bot' } });
    world.command(2, { payload: { text: 'from the user' } });
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual(['from the user']);
    expect(world.status()).toEqual({ 1: 'skipped', 2: 'sent' });
  });

  it('takes the lease again for a command committed while it was letting go', async () => {
    world.command(1);
    let committed = false;
    world.onRelease = () => {
      if (committed) return;
      committed = true;
      world.command(2);
    };
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual(['message 1', 'message 2']);
    expect(world.leaseHolder).toBeNull();
  });

  it('sends nothing once the escalation ended', async () => {
    world.escalation.state = 'ended';
    world.command(1);
    await world.drainer().relay(ESCALATION);
    expect(world.sent).toEqual([]);
    expect(world.status()).toEqual({ 1: 'pending' });
  });
});
