export interface SystemActivities {
  describeWorker(): Promise<{ pid: number; taskQueue: string }>;
}

export function createSystemActivities(taskQueue: string): SystemActivities {
  return {
    async describeWorker() {
      return { pid: process.pid, taskQueue };
    },
  };
}
