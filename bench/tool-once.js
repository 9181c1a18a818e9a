// The anchor of bench:tools: one process per call, as the reference runtime spawns one per tool call.
// argv: entrypoint, tool id, JSON input. Prints the JSON result.
import { pathToFileURL } from 'node:url';

const [entrypoint, toolId, input] = process.argv.slice(2);
const module = await import(pathToFileURL(entrypoint).href);
const tools = module.default ?? module;
const result = await tools[toolId](JSON.parse(input), {});
process.stdout.write(JSON.stringify(result));
