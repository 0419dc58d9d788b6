/** Where the Redis 8 of test/setup/redis8.mjs lives. */
export const REDIS8_DIR: string;
/** The paths to run the unpacked Redis 8 with; `exists` says whether it has been unpacked. */
export function redis8Paths(): { root: string; loader: string; libraryPath: string; server: string; cli: string; exists: boolean };
/** How to spawn the unpacked redis-server or redis-cli: through trixie's own dynamic loader. */
export function redis8Command(program: 'server' | 'cli', args?: string[]): { command: string; args: string[] };
/** The unpacked server's version, or undefined when it does not run. */
export function redis8Version(): string | undefined;
/** Fetch and unpack Redis 8 unless it is already there; returns its version. */
export function ensureRedis8(): string;
