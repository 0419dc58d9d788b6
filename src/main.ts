#!/usr/bin/env node
/** @module main: the `reprise` command. Flags and env → Config → server. */
import { ConfigError, helpText, OPTIONS, parseConfig, redactedSettings } from './config.js';
import { createLogger, startReprise } from './server.js';

const BOOLEAN_FLAGS = new Set<string>(Object.values(OPTIONS).filter((o) => o.default === 'true' || o.default === 'false').map((o) => o.flag));
const KNOWN_FLAGS = new Set<string>(Object.values(OPTIONS).map((o) => o.flag));

/** `--name value`, `--name=value`; boolean flags also take a bare `--name` or `--no-name`. */
export function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    let [, name, value] = m as unknown as [string, string, string | undefined];
    if (!KNOWN_FLAGS.has(name) && name.startsWith('no-') && BOOLEAN_FLAGS.has(name.slice(3))) {
      out[name.slice(3)] = 'false';
      continue;
    }
    if (!KNOWN_FLAGS.has(name)) throw new ConfigError(`unknown option --${name} (see --help)`);
    if (value === undefined) {
      const next = argv[i + 1];
      if (BOOLEAN_FLAGS.has(name) && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw new ConfigError(`option --${name} needs a value`);
      else value = argv[++i]!;
    }
    out[name] = value;
  }
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  let config;
  try {
    config = parseConfig(parseFlags(argv), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`reprise: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const running = await startReprise(config, { logger });
  logger.info({ settings: redactedSettings(config), url: running.url }, 'reprise listening');
  const stop = () => {
    logger.info({}, 'shutting down');
    running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
