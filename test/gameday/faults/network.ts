/**
 * Network faults for the game day: a Toxiproxy proxy put between a client and one service, and
 * the toxics (latency, bandwidth, reset_peer, timeout, slicer, limit_data) and full partitions
 * (the proxy disabled) applied to it. The proxy and its toxics are removed when the scenario ends.
 */
import type { Proxy } from 'toxiproxy-node-client';
import type { ScenarioContext } from '../scenario.js';

export type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'slicer' | 'limit_data' | 'reset_peer';

export interface FaultyLink {
  /** `host:port` to give the client instead of the service's own address. */
  readonly address: string;
  /** `http://host:port`, for HTTP services (AppConfig, DynamoDB Local, prio serve). */
  readonly url: string;
  /** Adds a toxic to every new and open connection; resolves with a function that removes it. */
  toxic(type: ToxicType, attributes: Readonly<Record<string, number>>, options?: { readonly stream?: 'upstream' | 'downstream'; readonly toxicity?: number }): Promise<() => Promise<void>>;
  /** A full partition: open connections are closed and new ones refused until `heal`. */
  partition(): Promise<void>;
  heal(): Promise<void>;
  /** Removes every toxic and heals a partition. */
  clear(): Promise<void>;
}

let links = 0;

/**
 * A proxy from a free port on 127.0.0.1 to `upstream` (`host:port` or an http URL), clean.
 * Names are unique per process, so scenarios never share a proxy.
 */
export async function faultyLink(ctx: ScenarioContext, label: string, upstream: string): Promise<FaultyLink> {
  const target = upstream.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  const name = `${label}-${process.pid}-${++links}`;
  let proxy: Proxy = await ctx.services.toxiproxy.createProxy({ name, listen: '127.0.0.1:0', upstream: target });
  ctx.defer(() => proxy.remove().catch(() => undefined));
  const address = proxy.listen;
  let toxics = 0;
  const active = new Set<() => Promise<void>>();
  const link: FaultyLink = {
    address,
    url: `http://${address}`,
    async toxic(type, attributes, options = {}) {
      const toxic = await proxy.addToxic({
        name: `${type}-${++toxics}`,
        type,
        stream: options.stream ?? 'downstream',
        toxicity: options.toxicity ?? 1,
        attributes,
      });
      const remove = async () => {
        active.delete(remove);
        await toxic.remove().catch(() => undefined);
      };
      active.add(remove);
      return remove;
    },
    async partition() {
      proxy = await proxy.update({ enabled: false, listen: address, upstream: target });
    },
    async heal() {
      proxy = await proxy.update({ enabled: true, listen: address, upstream: target });
    },
    async clear() {
      for (const remove of [...active]) await remove();
      await link.heal();
    },
  };
  return link;
}
