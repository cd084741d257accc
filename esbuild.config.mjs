// Bundles the extension into dist/extension.js and the `task-worktrees` CLI into dist/cli.js.
// `--production`: minified, no source maps (the VSIX); `--watch`: rebuild on change while developing.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
};

const bundles = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // Plain Node, the core only: run as `task-worktrees` (package bin) or by the extension host's Node.
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

if (watch) {
  for (const options of bundles) await (await esbuild.context(options)).watch();
  console.log('esbuild: watching src/ …');
} else {
  await Promise.all(bundles.map((options) => esbuild.build(options)));
}
