// A separate OS process appending to one conversation through the memory service (built dist/).
import { readMemoryResource } from '../../../dist/config/memory-resource.js';
import { Reader } from '../../../dist/config/read.js';
import { YamlFile } from '../../../dist/config/yaml-file.js';
import { RedisKv } from '../../../dist/kv/redis/redis-kv.js';
import { SqliteKv } from '../../../dist/kv/sqlite/sqlite-kv.js';
import { createMemoryManager } from '../../../dist/memory/service.js';

const [driver, location, prefix, yaml, name, count] = process.argv.slice(2);
const file = new YamlFile('/worker/memory.yaml', yaml);
const diagnostics = [];
const resource = readMemoryResource(new Reader(file, diagnostics), file.data, [], file);
if (!resource || diagnostics.length > 0) throw new Error(`bad resource: ${JSON.stringify(diagnostics)}`);
const kv = driver === 'redis' ? await RedisKv.connect({ url: location, prefix }) : SqliteKv.open(location);
// No flush during the run: the test counts exactly what the appends and their trims leave.
const manager = await createMemoryManager({ kv, project: 'multiprocess', resources: [resource], flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
const instance = manager.instance(resource.id, 'shared');
// Both processes start appending together, so their appends interleave.
await kv.incrBy('barrier', 1);
while (Number(await kv.get('barrier')) < 2) await new Promise((resolve) => setTimeout(resolve, 1));
for (let i = 0; i < Number(count); i++) await instance.append([{ role: 'user', content: `${name} ${i}` }]);
await kv.close();
