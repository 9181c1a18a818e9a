import { CompozyError } from '../errors.js';
import type { MemoryManager, MemoryManagerOptions } from './service.js';

export class MemoryManagerImpl {
  static async create(options: MemoryManagerOptions): Promise<MemoryManager> {
    throw new CompozyError('MEMORY_UNAVAILABLE', `Memory for project "${options.project}" is not built yet.`);
  }
}
