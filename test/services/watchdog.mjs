// Usage: node watchdog.mjs <ownerPid> <serverPid> [dirToRemove]
// Runs detached next to a server a launcher started. When the owner process disappears without
// stopping the server, this stops the server's process group and removes its temp dir; when the
// server goes away first, it simply exits.
import { isAlive, removeDir, sleep, stopProcessGroup } from './lib.mjs';

const [ownerPid, serverPid] = process.argv.slice(2, 4).map(Number);
const dir = process.argv[4] || undefined;

process.on('SIGTERM', () => process.exit(0));

while (isAlive(serverPid)) {
  if (!isAlive(ownerPid)) {
    await stopProcessGroup(serverPid, 10000);
    await removeDir(dir).catch(() => {});
    break;
  }
  await sleep(1000);
}
process.exit(0);
