// firstbell's own errors: each says what is wrong and how to put it right, and carries the exit code the command
// line ends with. Anything else that reaches the command line is an internal error (exit 1).

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, internal: 1, usage: 2, unreachable: 3, objectivesFailed: 99, interrupted: 130 } as const;

/** An error of the user's input or setup that firstbell names with its fix; `exitCode` is 2 unless a kind says otherwise. */
export class FirstbellError extends Error {
  readonly exitCode: number = EXIT.usage;

  constructor(message: string, options?: { cause?: unknown }) {
    // (The cause is set here rather than by Error's own option, which a k6 script's JavaScript lacks.)
    super(message);
    this.name = new.target.name;
    if (options && 'cause' in options) Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
  }
}
