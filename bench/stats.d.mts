export declare function median(xs: readonly number[]): number;
export declare function medianInterval(sorted: readonly number[]): [number, number] | undefined;
