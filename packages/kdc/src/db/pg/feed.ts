/**
 * The change feed of a KDC on PostgreSQL: one connection of its own that
 * LISTENs on the change and lockout channels (schema.ts), and what keeps it
 * alive.
 *
 * - Its 'error' and 'end' events are always handled (an 'error' with no
 *   listener would crash the process): the feed is then lost, which the
 *   owner hears once per outage (onLost), and it reconnects with backoff,
 *   0.25 s doubling to maxBackoffMs.
 * - A connection cut without a word (a host gone, a firewall dropping it)
 *   shows no error until a query times out: a `SELECT 1` every few seconds
 *   finds it.
 * - After each reconnection the owner catches up (onReconnected: reload
 *   what changed while away); only when that worked is the feed up again
 *   (onBack), else it tries again later. A server that answers but cannot
 *   give the realm (its tables gone) is reported once more, with that
 *   reason.
 */
import type pg from 'pg';
import { clientConfig, describePgError, isConnectionError, loadPg } from './connection.js';
import { CHANGE_CHANNEL, LOCKOUT_CHANNEL } from './schema.js';

/** How often the listening connection is checked with a query, and how long that query may take (ms). */
const HEARTBEAT_MS = 5000;
const FIRST_BACKOFF_MS = 250;

export interface FeedHandlers {
  onNotification(channel: string, payload: string | undefined): void;
  /** Reconnected and listening: catch up; a rejection counts as a failed attempt. */
  onReconnected(): Promise<void>;
  /** The feed was lost (once per outage), with the reason in a few words. */
  onLost(reason: string): void;
  /** Up again after onLost. */
  onBack(): void;
}

export class ChangeFeed {
  readonly #url: string;
  readonly #h: FeedHandlers;
  readonly #maxBackoffMs: number;
  #client: pg.Client | undefined;
  #lost = false;
  /** The reason last reported. */
  #reason: string | undefined;
  #closed = false;
  #backoffMs = FIRST_BACKOFF_MS;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(url: string, handlers: FeedHandlers, opts: { maxBackoffMs?: number } = {}) {
    this.#url = url;
    this.#h = handlers;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  }

  /** True while listening (and not lost). */
  get up(): boolean {
    return this.#client !== undefined && !this.#lost;
  }

  /** The first connection: throws when the server cannot be reached. */
  async start(): Promise<void> {
    await this.#connect();
    this.#heartbeat = setInterval(() => {
      const c = this.#client;
      if (c !== undefined) c.query('SELECT 1').catch((e: unknown) => this.lost(e, c));
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  async #connect(): Promise<void> {
    const { Client } = await loadPg();
    const client = new Client({ ...clientConfig(this.#url), query_timeout: HEARTBEAT_MS });
    // Registered before connecting: an 'error' event with no listener would crash the process.
    client.on('error', (e) => this.lost(e, client));
    client.on('end', () => this.lost(new Error('Connection ended'), client));
    client.on('notification', (n) => this.#h.onNotification(n.channel, n.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}; LISTEN ${LOCKOUT_CHANNEL}`);
    } catch (e) {
      drop(client);
      throw e;
    }
    this.#client = client;
  }

  /**
   * The feed's connection (or, without `client`, a query elsewhere) found the
   * server gone: drop the connection, say so once, reconnect with backoff.
   */
  lost(e: unknown, client?: pg.Client): void {
    if (this.#closed || (client !== undefined && client !== this.#client)) return;
    const old = this.#client;
    this.#client = undefined;
    if (old !== undefined) drop(old);
    if (!this.#lost) {
      this.#lost = true;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.#reason = describePgError(e, this.#url);
      this.#h.onLost(this.#reason);
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer !== undefined || this.#closed) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#reconnect();
    }, delay);
    this.#reconnectTimer.unref();
  }

  async #reconnect(): Promise<void> {
    if (this.#closed || this.#client !== undefined) return;
    try {
      await this.#connect();
      await this.#h.onReconnected();
    } catch (e) {
      const c = this.#client as pg.Client | undefined;
      this.#client = undefined;
      if (c !== undefined) drop(c);
      // The server answers but something else is wrong (the realm's tables gone, a permission): say that too, once.
      const reason = describePgError(e, this.#url);
      if (!isConnectionError(e) && reason !== this.#reason) {
        this.#reason = reason;
        this.#h.onLost(reason);
      }
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed) return;
    this.#backoffMs = FIRST_BACKOFF_MS;
    if (this.#lost) {
      this.#lost = false;
      this.#reason = undefined;
      this.#h.onBack();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    const c = this.#client;
    this.#client = undefined;
    if (c !== undefined) {
      c.removeAllListeners('end');
      await c.end().catch(() => {});
    }
  }
}

/** Ends a connection we no longer use; its later 'error' events still land on the (now ignoring) handler. */
function drop(c: pg.Client): void {
  c.removeAllListeners('end');
  c.end().catch(() => {});
}
