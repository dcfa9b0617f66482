import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** Protocol name: the primary and the standby group must agree on it (and on the member order). */
export const SHIFTED_ASSIGNER = 'TickhubShifted';

/**
 * Partition p goes to the member at (p + shift) mod n, members sorted by their pod id. The primary group
 * runs it with shift 0 and the standby group with shift 1: with the same pods in both groups, every
 * partition has its standby on another pod than its primary (from two pods on).
 */
export function shiftedAssigner(podId: string, shift: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: SHIFTED_ASSIGNER,
    version: 1,
    async assign({ members, topics }) {
      const pods = members
        .map((m) => ({
          memberId: m.memberId,
          pod: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData.toString() ?? '',
        }))
        .sort((a, b) => (a.pod === b.pod ? compare(a.memberId, b.memberId) : compare(a.pod, b.pod)));
      const assignment = new Map<string, Record<string, number[]>>(pods.map((p) => [p.memberId, {}]));
      for (const topic of topics) {
        const partitions = cluster
          .findTopicPartitionMetadata(topic)
          .map((m) => m.partitionId)
          .sort((a, b) => a - b);
        for (const p of partitions) {
          const owner = assignment.get(pods[(p + shift) % pods.length]!.memberId)!;
          const list = owner[topic] ?? [];
          list.push(p);
          owner[topic] = list;
        }
      }
      return [...assignment].map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: topicPartitions,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: SHIFTED_ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(podId),
        }),
      };
    },
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
