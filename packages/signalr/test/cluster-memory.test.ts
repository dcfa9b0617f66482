import { MemoryBackplane, MemoryBus } from '@tickhub/backplane';
import { clusterSuite } from './cluster-suite';

jest.setTimeout(60_000);

clusterSuite('two pods on the in-memory backplane', async () => {
  const bus = new MemoryBus();
  const backplanes = [
    new MemoryBackplane({ bus, podId: 'pod-a' }),
    new MemoryBackplane({ bus, podId: 'pod-b' }),
  ];
  await Promise.all(backplanes.map((bp) => bp.connect()));
  return { backplanes, close: async () => void (await Promise.all(backplanes.map((bp) => bp.close()))) };
});
