/**
 * A listener's enabled SASL mechanisms, in the order they are advertised
 * (POP3 CAPA "SASL …", IMAP CAPABILITY "AUTH=…").
 */
import type { SaslMechanismFactory } from './mechanism.js';

export class SaslRegistry {
  private readonly list: SaslMechanismFactory[] = [];

  constructor(factories: Iterable<SaslMechanismFactory> = []) {
    for (const f of factories) this.add(f);
  }

  /** Adds (or replaces, keeping its place) a mechanism. */
  add(f: SaslMechanismFactory): this {
    const i = this.list.findIndex((x) => x.name === f.name);
    if (i === -1) this.list.push(f);
    else this.list[i] = f;
    return this;
  }

  /** A copy restricted to these names (a per-listener selection), in this registry's order. */
  only(names: Iterable<string>): SaslRegistry {
    const want = new Set([...names].map((n) => n.toUpperCase()));
    return new SaslRegistry(this.list.filter((f) => want.has(f.name)));
  }

  /** Names offered on a connection: password-exposing ones only when `passwordsAllowed`. */
  offered(passwordsAllowed: boolean): string[] {
    return this.list.filter((f) => passwordsAllowed || !f.plaintext).map((f) => f.name);
  }

  /** The factory for a name offered under these conditions, else undefined. */
  get(name: string, passwordsAllowed: boolean): SaslMechanismFactory | undefined {
    const f = this.list.find((x) => x.name === name.toUpperCase());
    return f && (passwordsAllowed || !f.plaintext) ? f : undefined;
  }

  get size(): number {
    return this.list.length;
  }
}
