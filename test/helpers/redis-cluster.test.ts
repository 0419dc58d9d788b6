/** The cluster helper itself: three masters that hold all slots, and a killed master replaced by its replica. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterServer } from './redis-cluster.js';

let cluster: RedisClusterServer;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('startRedisCluster', () => {
  it('starts three masters and three replicas; a killed master is replaced by its replica', async () => {
    expect(cluster.nodes).toHaveLength(6);
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const owner = await cluster.masterOf('some-key');
    expect(masters).toContain(owner);
    await cluster.killMaster(owner);
    const after = await cluster.masters();
    expect(after).toHaveLength(3);
    expect(after).not.toContain(owner);
    expect(after).toContain(await cluster.masterOf('some-key'));
  }, 60_000);
});
