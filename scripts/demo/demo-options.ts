/** What `npm run demo -- [flags]` accepts. */
export interface DemoOptions {
  /** Leave the service, the simulators and the receiver running after the scripted escalations. */
  keep: boolean;
  /** Bound on the scripted part (start-up included), in seconds. */
  timeoutSeconds: number;
  /**
   * A database of the run's own, dropped when the demo ends (so that two demos at once never meet); a name given
   * with --database is dropped at the start instead and kept at the end, to be looked at.
   */
  database?: string;
  /** The Redis key prefix, by the same rule as the database. */
  redisPrefix?: string;
  /** PostgreSQL server, without a database name. */
  postgresUrl: string;
  redisUrl: string;
  /** Port of the service (0: a free one). */
  port: number;
  /** Print the service's log lines as they come (LOG_LEVEL warn) instead of only when something fails. */
  verbose: boolean;
  help: boolean;
}

export const DEMO_USAGE = `npm run demo -- [--keep] [--timeout 90] [--port 0] [--database NAME] [--redis-prefix PREFIX]
                [--postgres postgres://postgres@127.0.0.1:5432] [--redis redis://127.0.0.1:6379] [--verbose]

Starts the service (API and worker), the GMS and 8x8 simulators and a bot-platform receiver, configures a gateway of
each type through the admin API and runs a scripted escalation through each. Exits 0 when every expected step was
observed, 1 naming the first missing step of each platform. --keep leaves everything running for you to play the agent
in the simulators' consoles (Ctrl+C stops it). Each run has a database and Redis prefix of its own, removed at its end,
unless --database or --redis-prefix name one to keep. See docs/demo.md.`;

export function parseDemoOptions(argv: string[]): DemoOptions {
  const options: DemoOptions = {
    keep: false,
    timeoutSeconds: 90,
    postgresUrl: 'postgres://postgres@127.0.0.1:5432',
    redisUrl: 'redis://127.0.0.1:6379',
    port: 0,
    verbose: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    const number = (min: number) => {
      const parsed = Number(value());
      if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${flag} must be an integer of at least ${min}`);
      return parsed;
    };
    switch (flag) {
      case '--keep':
        options.keep = true;
        break;
      case '--verbose':
        options.verbose = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--timeout':
        options.timeoutSeconds = number(10);
        break;
      case '--port':
        options.port = number(0);
        break;
      case '--database':
        options.database = value();
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.database)) throw new Error('--database must be a plain lower-case PostgreSQL name');
        break;
      case '--redis-prefix':
        options.redisPrefix = value();
        break;
      case '--postgres':
        options.postgresUrl = value().replace(/\/+$/, '');
        break;
      case '--redis':
        options.redisUrl = value();
        break;
      default:
        throw new Error(`Unknown option ${argv[i]}`);
    }
  }
  return options;
}
