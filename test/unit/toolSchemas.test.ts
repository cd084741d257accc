import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface DeclaredTool {
  name: string;
  inputSchema: { type: string; properties: Record<string, { type?: string }>; required?: string[] };
}

/** The checkout's package.json (this file runs from out/test/unit/). */
const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { languageModelTools: DeclaredTool[] } };

suite('language model tool schemas: the same optional repository as every API argument object', () => {
  test('every tool declares "repository" as an optional string', () => {
    const tools = manifest.contributes.languageModelTools;
    assert.ok(tools.length > 0);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.properties.repository?.type, 'string', `${tool.name} declares repository`);
      assert.ok(!(tool.inputSchema.required ?? []).includes('repository'), `${tool.name} does not require it`);
    }
  });
});
