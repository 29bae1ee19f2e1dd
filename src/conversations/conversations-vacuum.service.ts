import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';

/** How often the table's count of dead row versions is read (one lookup in PostgreSQL's statistics). */
const CHECK_EVERY_MS = 2_000;

/** What one check found and did. */
export interface VacuumCheck {
  dead: number;
  vacuumed: boolean;
}

/**
 * Vacuums the conversations table whenever it holds CONVERSATIONS_VACUUM_DEAD_ROWS dead row versions.
 *
 * Every stored event and every delivery updates its conversation's row, and neither update can be HOT: both change
 * `last_seq` or `delivered_seq`, which the undelivered conversations' index reads in its predicate. The few rows in
 * progress gather dead versions far faster than autovacuum's visits (once a minute by default, or never) clear them,
 * and each delivery pass walks the undelivered index through them (docs/decisions.md).
 *
 * Any worker may run it: `SKIP_LOCKED` leaves the table alone while another vacuum (autovacuum's, another worker's)
 * is at it, instead of waiting. VACUUM only takes a lock that writers do not wait for. A database user that does not
 * own the table cannot vacuum it: the check then stops with one warning, and the table is autovacuum's alone.
 */
@Injectable()
export class ConversationsVacuum implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log: ComponentLogger;
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    logger: AppLogger,
  ) {
    this.log = logger.child('vacuum');
  }

  onApplicationBootstrap(): void {
    if (this.config.CONVERSATIONS_VACUUM_DEAD_ROWS === 0) return;
    this.timer = setInterval(() => void this.tick(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    // A vacuum longer than the period is not joined by another check.
    if (this.running) return;
    this.running = true;
    try {
      await this.runOnce();
    } catch (error) {
      this.log.warn('conversations vacuum failed', { error: (error as Error).message });
    } finally {
      this.running = false;
    }
  }

  /** Reads the dead versions and vacuums if there are at least the threshold's; null when vacuuming is off. */
  async runOnce(): Promise<VacuumCheck | null> {
    const threshold = this.config.CONVERSATIONS_VACUUM_DEAD_ROWS;
    if (threshold === 0) return null;
    const [row]: { dead: number; owned: boolean }[] = await this.db.query(
      `SELECT s.n_dead_tup::int AS dead, pg_has_role(c.relowner, 'USAGE') AS owned
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.relid = 'conversations'::regclass`,
    );
    if (!row.owned) {
      this.log.warn('conversations left to autovacuum: the database user does not own the table', {});
      this.stop();
      return null;
    }
    if (row.dead < threshold) return { dead: row.dead, vacuumed: false };
    const started = Date.now();
    await this.db.query('VACUUM (SKIP_LOCKED) conversations');
    this.metrics.conversationVacuums.inc();
    this.log.debug('conversations vacuumed', { dead: row.dead, durationMs: Date.now() - started });
    return { dead: row.dead, vacuumed: true };
  }
}
