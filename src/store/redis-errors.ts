import { GovernorError } from '../errors.ts';
import { PERSISTED_STATE_VERSION } from '../runtime/persisted-state.ts';

/**
 * A stored actor state this runtime cannot read: written under another schema version (a newer
 * Governor, or an old one whose migration is missing) or not a persisted state at all.
 */
export class StoredStateError extends GovernorError {
  constructor(
    code: 'STORED_STATE_VERSION' | 'STORED_STATE_CORRUPT',
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  static version(key: string, found: unknown): StoredStateError {
    return new StoredStateError(
      'STORED_STATE_VERSION',
      key,
      `the state stored at ${key} has schema version ${JSON.stringify(found)}, but this Governor reads version ` +
        `${PERSISTED_STATE_VERSION}: run the Governor version that wrote it, or migrate the stored states first`,
    );
  }

  static corrupt(key: string, problem: string, cause?: unknown): StoredStateError {
    return new StoredStateError(
      'STORED_STATE_CORRUPT',
      key,
      `the state stored at ${key} is not a Governor actor state (${problem}): delete the key or restore it from a backup`,
      { cause },
    );
  }
}
