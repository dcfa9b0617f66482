import { AssignerProtocol, type Cluster } from 'kafkajs';
import { shiftedAssigner } from '../../src/core/shifted-assigner';

/** The members of one group as the coordinator hands them to the leader: metadata from protocol(). */
function members(pods: string[], topic: string) {
  return pods.map((pod, i) => ({
    memberId: `${pod}#${i}`,
    memberMetadata: shiftedAssigner(
      pod,
      0,
    )({ cluster: {} as Cluster, groupId: 'g', logger: undefined as never }).protocol({ topics: [topic] })
      .metadata,
  }));
}

async function owners(pods: string[], shift: number, partitions: number): Promise<Map<number, string>> {
  const cluster = {
    findTopicPartitionMetadata: () =>
      Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster;
  const assigner = shiftedAssigner('leader', shift)({ cluster, groupId: 'g', logger: undefined as never });
  // The coordinator's member order is arbitrary: the assignment must not depend on it.
  const group = members(pods, 't').reverse();
  const out = new Map<number, string>();
  for (const { memberId, memberAssignment } of await assigner.assign({ members: group, topics: ['t'] })) {
    const pod = memberId.split('#')[0]!;
    for (const p of AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment.t ?? [])
      out.set(p, pod);
  }
  return out;
}

describe('shiftedAssigner', () => {
  it('gives every partition a standby on another pod than its primary, balanced', async () => {
    for (const pods of [
      ['a', 'b'],
      ['gw-3', 'gw-1', 'gw-2'],
    ]) {
      const primary = await owners(pods, 0, 12);
      const standby = await owners(pods, 1, 12);
      expect(primary.size).toBe(12);
      expect(standby.size).toBe(12);
      for (let p = 0; p < 12; p++) expect(standby.get(p)).not.toBe(primary.get(p));
      const load = new Map<string, number>();
      for (const pod of primary.values()) load.set(pod, (load.get(pod) ?? 0) + 1);
      expect(new Set(load.values())).toEqual(new Set([12 / pods.length]));
    }
  });

  it('with one pod, that pod owns everything in both groups', async () => {
    expect(new Set((await owners(['solo'], 1, 4)).values())).toEqual(new Set(['solo']));
  });
});
