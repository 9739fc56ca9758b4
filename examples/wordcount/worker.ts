// An executor for the word count: holds the files named in WC_FILES (its shards, read into
// memory) and runs the graph's nodes until it is stopped.
import { TableOS } from '../../src/index.js';
import { registerWordcount } from './app.js';

const files = (process.env.WC_FILES ?? '').split('\n').filter((f) => f !== '');
const os = await TableOS.open({ logLevel: 'warn' });
const cache = new Map<string, string>();
for (const f of files) cache.set(f, (await os.fs.readFile(f)).toString('utf8'));
registerWordcount(os, cache);
await os.scheduler.start({ capacity: 4, memoryMb: 256, shards: files.map((f) => `fs:${f}`) });
process.stdout.write(`ready ${os.executor!.id} holding ${files.length} files\n`);
process.on('SIGTERM', () => void os.close().then(() => process.exit(0)));
