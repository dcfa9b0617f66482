import { MemoryCandleStore } from '../src';
import { describeCandleStoreContract } from '../src/contract';

describeCandleStoreContract('MemoryCandleStore', async () => {
  const store = new MemoryCandleStore();
  // One process is the whole medium: a restarted embedded gateway starts empty, so "reopen" is the same store.
  return { store, reopen: async () => store, cleanup: async () => {} };
});
