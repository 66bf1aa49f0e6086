/**
 * The one base class for every error Governor throws.
 *
 * Each subclass has a stable `code` (SCREAMING_SNAKE, never reworded) that programs match on,
 * and a message written for people: what was wrong, where, and what to do about it.
 */
export class GovernorError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
