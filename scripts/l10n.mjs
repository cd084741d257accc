// Exports every `vscode.l10n.t('…')` message under src/ to l10n/bundle.l10n.json, the file VS Code
// reads translations against (package.json "l10n": "./l10n"). @vscode/l10n-dev is not a dependency;
// the TypeScript compiler's parser finds the calls, so formatting and comments never fool it.
//   node scripts/l10n.mjs            write the bundle
//   node scripts/l10n.mjs --check    exit 1 when the bundle lacks or has extra messages
//   node scripts/l10n.mjs --list DIR print the messages found under DIR as JSON
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(import.meta.url)(join(root, 'node_modules', 'typescript'));
const bundlePath = join(root, 'l10n', 'bundle.l10n.json');

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The messages of `vscode.l10n.t(…)` calls under `dir`, and the calls whose message is not a literal. */
export function extractMessages(dir) {
  const messages = new Set();
  const dynamic = [];
  for (const file of sourceFiles(dir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isCallExpression(node) && node.expression.getText(source).replace(/\s+/g, '') === 'vscode.l10n.t') {
        const [first] = node.arguments;
        if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) messages.add(first.text);
        else {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          dynamic.push(`${relative(root, file)}:${line + 1}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { messages: [...messages].sort(), dynamic };
}

function main(args) {
  if (args[0] === '--list') {
    process.stdout.write(`${JSON.stringify(extractMessages(resolve(args[1] ?? join(root, 'src'))))}\n`);
    return 0;
  }
  const { messages, dynamic } = extractMessages(join(root, 'src'));
  if (dynamic.length) {
    // A message built at run time cannot be translated from a bundle.
    console.error(`vscode.l10n.t needs a literal message; not one at: ${dynamic.join(', ')}`);
    return 1;
  }
  const bundle = Object.fromEntries(messages.map((message) => [message, message]));
  if (args[0] === '--check') {
    const current = JSON.parse(readFileSync(bundlePath, 'utf8'));
    const missing = messages.filter((message) => !(message in current));
    const extra = Object.keys(current).filter((key) => !bundle[key]);
    if (missing.length || extra.length) {
      console.error(`l10n/bundle.l10n.json is stale (run npm run l10n): ${missing.length} missing, ${extra.length} extra`);
      return 1;
    }
    console.log(`l10n/bundle.l10n.json has all ${messages.length} messages`);
    return 0;
  }
  writeFileSync(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);
  console.log(`wrote ${messages.length} messages to ${relative(root, bundlePath)}`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
