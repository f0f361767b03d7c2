// The one function of chrome-har firstbell uses: DevTools protocol events of a page into a HAR.
declare module 'chrome-har' {
  export function harFromMessages(messages: { method: string; params: unknown }[], options?: { includeTextFromResponseBody?: boolean; includeResourcesFromDiskCache?: boolean }): { log: { entries: Record<string, unknown>[] } & Record<string, unknown> };
}
