// How much of a target's answer firstbell reads: a body, a WebSocket message with all its fragments. A hostile or
// broken target cannot make a participant hold more than this; beyond it the step fails as `too_large`.

/** An answer over the limit: the step fails as `too_large`, the connection closes. */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
  readonly code = 'FIRSTBELL_TOO_LARGE';
}

/** A WebSocket peer that broke the protocol (a bad frame, a masked server frame, a bad opcode): outcome `ws_protocol`. */
export class WsProtocolError extends Error {
  override name = 'WsProtocolError';
  readonly code = 'FIRSTBELL_WS_PROTOCOL';
}

/** Default most bytes of one answer (an HTTP body, a WebSocket message): 8 MB. */
export const DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024;

