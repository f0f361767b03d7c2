// AbortController and AbortSignal for k6, which has neither: what journeys and the vu API use of them, on k6's timers.
import { setTimeout } from 'k6/timers';

type Listener = (event: { type: 'abort' }) => void;

class K6AbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: Listener | null = null;
  private listeners: Listener[] = [];

  addEventListener(type: string, listener: Listener): void {
    if (type === 'abort') this.listeners.push(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    if (type === 'abort') this.listeners = this.listeners.filter((l) => l !== listener);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  dispatchEvent(): boolean {
    return true;
  }

  /** Aborts once: the reason kept, every listener told. */
  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const ls = this.listeners;
    this.listeners = [];
    this.onabort?.({ type: 'abort' });
    for (const l of ls) l({ type: 'abort' });
  }

  static timeout(ms: number): K6AbortSignal {
    const s = new K6AbortSignal();
    setTimeout(() => s.fire(Object.assign(new Error(`timed out after ${ms} ms`), { name: 'TimeoutError' })), ms);
    return s;
  }

  static abort(reason?: unknown): K6AbortSignal {
    const s = new K6AbortSignal();
    s.fire(reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' }));
    return s;
  }
}

class K6AbortController {
  readonly signal = new K6AbortSignal();

  abort(reason?: unknown): void {
    this.signal.fire(reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' }));
  }
}

/** Puts AbortController and AbortSignal on the global object where the runtime has none. */
export function installAbort(): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.AbortController === 'undefined') g.AbortController = K6AbortController;
  if (typeof g.AbortSignal === 'undefined') g.AbortSignal = K6AbortSignal;
}

/** A new controller, as AbortController is on this runtime. */
export function newController(): AbortController {
  return new (globalThis as unknown as { AbortController: new () => AbortController }).AbortController();
}
