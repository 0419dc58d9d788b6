#!/usr/bin/env node
/** @module main: the `reprise` command. Flags and env → Config → server. */
import { ConfigError, helpText, OPTIONS, parseConfig, redactedSettings } from './config.js';
import { createLogger } from './node/logger.js';
import { startReprise } from './node/server.js';

const BOOLEAN_FLAGS = new Set<string>(Object.values(OPTIONS).filter((o) => o.default === 'true' || o.default === 'false').map((o) => o.flag));
const KNOWN_FLAGS = new Set<string>(Object.values(OPTIONS).map((o) => o.flag));

/** `--name value`, `--name=value`; boolean flags also take a bare `--name` or `--no-name`. */
export function parseFlags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const name = m[1]!;
    let value = m[2];
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

/** `reprise calibrate --pairs FILE --target-precision P [settings]` */
async function calibrateCommand(argv: string[]): Promise<void> {
  const { calibrate, formatCalibration, readPairs } = await import('./calibrate.js');
  const { loadEmbedder } = await import('./embed/load.js');
  const take = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const [, value] = argv.splice(i, 2);
    return value;
  };
  const file = take('pairs');
  const target = Number(take('target-precision') ?? 0.95);
  if (!file || !(target > 0 && target <= 1)) throw new ConfigError('usage: reprise calibrate --pairs FILE.jsonl [--target-precision 0.95] [--embed-model ...]');
  const config = parseConfig(parseFlags(argv), process.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, config.logFormat);
  const embedder = await loadEmbedder({ model: config.embedModel, cacheDir: config.modelCacheDir, logger });
  console.log(formatCalibration(await calibrate(readPairs(file), embedder, target), target));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'calibrate') {
    try {
      return await calibrateCommand(argv.slice(1));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`reprise: ${err.message}`);
      process.exit(2);
    }
  }
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
  const logger = createLogger(config.logLevel, config.logFormat);
  let running: Awaited<ReturnType<typeof startReprise>>;
  try {
    running = await startReprise(config, { logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`reprise: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  logger.info({ settings: redactedSettings(config), url: running.url }, 'reprise listening');
  // An operator in front of a gateway that also serves /v1/messages may not know Anthropic's routes have their own
  // upstream, and would otherwise learn it from a key sent to Anthropic.
  if (config.upstream !== OPTIONS.upstream.default && config.anthropicUpstream === OPTIONS.anthropicUpstream.default) {
    logger.warn({ anthropicUpstream: config.anthropicUpstream }, '/v1/messages and Anthropic SDK requests go to Anthropic, not to --upstream; set --anthropic-upstream to send them elsewhere');
  }
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal means now.
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal, inFlight: running.inFlight(), drainTimeoutS: config.drainTimeout }, 'shutting down: no new connections; waiting for requests under way');
    running.close({ drainMs: config.drainTimeout * 1000 }).then(
      () => {
        logger.info({}, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
