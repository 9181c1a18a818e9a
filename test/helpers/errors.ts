import { CompozyError } from '../../src/errors.js';

/** The CompozyError code a promise rejects with (undefined when it resolves). */
export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof CompozyError ? error.code : `untyped: ${String(error)}`;
  }
  return undefined;
}
