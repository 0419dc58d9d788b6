/**
 * The app must run on Cloudflare Workers: nothing src/app.ts reaches at runtime may import a Node builtin or a
 * Node-only package (STYLE habit 2). Walks the static import graph with the TypeScript parser, so comments, strings
 * and type-only imports (erased at build) are told apart from real ones.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const NODE_BUILTINS = new Set([
  'fs', 'path', 'stream', 'net', 'http', 'crypto', 'os', 'child_process', 'module', 'util', 'events', 'buffer', 'url', 'worker_threads',
  ...builtinModules,
]);
const NODE_ONLY_PACKAGES = ['undici', 'ioredis', 'pino', 'usearch', '@huggingface/transformers', '@hono/node-server'];

/** Why `spec` cannot run on Workers, or undefined if it can. */
function forbidden(spec: string): string | undefined {
  if (spec.startsWith('node:')) return 'node: builtin';
  if (NODE_BUILTINS.has(spec.split('/')[0]!)) return 'Node builtin';
  if (spec.startsWith('@energetic-ai/')) return 'Node-only package';
  if (NODE_ONLY_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) return 'Node-only package';
  return undefined;
}

/** Module specifiers `source` loads at runtime: static imports and re-exports that are not type-only, and import(). */
function runtimeImports(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      if (!node.isTypeOnly && ts.isStringLiteral(e)) out.push(e.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      out.push(arg && ts.isStringLiteralLike(arg) ? arg.text : '<computed import()>');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

interface Violation {
  file: string;
  spec: string;
  why: string;
}

/** Every module reachable from `entry` through relative runtime imports, and every forbidden import among them. */
function walk(entry: string, read: (path: string) => string | undefined) {
  const seen = new Set<string>();
  const violations: Violation[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = read(file);
    if (source === undefined) throw new Error(`cannot read ${file}`);
    for (const spec of runtimeImports(file, source)) {
      if (spec.startsWith('.')) {
        const base = resolve(dirname(file), spec);
        const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, resolve(base, 'index.ts')];
        const target = candidates.find((c) => read(c) !== undefined);
        if (!target) throw new Error(`${file}: cannot resolve ${spec}`);
        queue.push(target);
      } else {
        const why = forbidden(spec);
        if (why) violations.push({ file: relative(ROOT, file), spec, why });
      }
    }
  }
  return { files: [...seen].map((f) => relative(ROOT, f)).sort(), violations };
}

const readDisk = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

describe('the Workers-safe import graph of src/app.ts', () => {
  const app = walk(resolve(ROOT, 'src/app.ts'), readDisk);

  it('reaches the whole request path (the walk is not vacuous)', () => {
    for (const f of [
      'src/app.ts',
      'src/handle.ts',
      'src/cache/pipeline.ts',
      'src/cache/key.ts',
      'src/cache/exchange.ts',
      'src/cache/capture.ts',
      'src/openai/sse-parse.ts',
      'src/upstream/headers.ts',
      'src/web/respond.ts',
    ]) {
      expect(app.files).toContain(f);
    }
  });

  it('imports no Node builtin and no Node-only package', () => {
    expect(app.violations).toEqual([]);
  });

  it('catches violations: src/node/server.ts (the Node entry) has them', () => {
    const server = walk(resolve(ROOT, 'src/node/server.ts'), readDisk);
    const specs = new Set(server.violations.map((v) => v.spec));
    expect(specs).toContain('pino');
    expect(specs).toContain('undici');
    expect(specs).toContain('node:stream');
    expect(specs).toContain('node:http');
    expect(specs).toContain('@huggingface/transformers');
    expect(server.violations).toContainEqual({ file: 'src/upstream/undici.ts', spec: 'undici', why: 'Node-only package' });
    // `import type { AddressInfo } from 'node:net'` is erased at build, so it is not one
    expect(specs).not.toContain('node:net');
  });
});

describe('the import walker', () => {
  const files: Record<string, string> = {
    '/v/entry.ts': [
      "import type { A } from 'node:fs';",
      "import type * as U from 'usearch';",
      "export type { B } from 'ioredis';",
      "// import x from 'pino';",
      "const s = \"import y from 'undici'\";",
      "import { type C } from './kept.js';",
      "export * from './reexport.js';",
    ].join('\n'),
    '/v/kept.ts': "import { Readable } from 'stream';\nexport type C = number;",
    '/v/reexport.ts': "export async function load() { return import('@energetic-ai/core'); }\nimport 'node:worker_threads';",
  };
  const result = walk('/v/entry.ts', (p) => files[p]);

  it('ignores type-only imports, comments and strings; follows re-exports and value imports', () => {
    expect(result.files).toHaveLength(3);
    expect(result.violations.map((v) => v.spec).sort()).toEqual(['@energetic-ai/core', 'node:worker_threads', 'stream']);
  });

  it('classifies specifiers', () => {
    for (const s of ['node:crypto', 'fs/promises', 'crypto', 'child_process', 'undici', 'pino', '@energetic-ai/embeddings', '@huggingface/transformers']) {
      expect(forbidden(s), s).toBeDefined();
    }
    for (const s of ['hono', 'hono/body-limit', 'zod', 'lru-cache', 'undici-types-like', 'pinocchio']) expect(forbidden(s), s).toBeUndefined();
  });
});
