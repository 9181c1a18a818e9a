import { CompozyError } from '../../errors.js';

/**
 * The Go engine's builtin error codes (engine/tool/builtin/errors.go), carried in details.code. A
 * request the tool refuses is TOOL_INPUT_INVALID (not retried: the same input is refused again), an
 * unexpected failure TOOL_FAILED.
 */
export type NativeErrorCode = 'InvalidArgument' | 'PermissionDenied' | 'FileNotFound' | 'CommandNotAllowed' | 'Internal';

export function nativeError(tool: string, code: NativeErrorCode, message: string, details: Record<string, unknown> = {}): CompozyError {
  return new CompozyError(code === 'Internal' ? 'TOOL_FAILED' : 'TOOL_INPUT_INVALID', `${tool}: ${message}`, { details: { ...details, code, tool } });
}
