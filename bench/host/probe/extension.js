// A probe for bench/host/location.mjs, loaded as the extension under development. It counts the
// events of a `**/*` FileSystemWatcher (what any extension watching the workspace gets) from its
// activation on, and on "Location Probe: Report" writes what the window sees to the JSON file named
// by LOCATION_PROBE_OUT (an environment variable given to the host). With LOCATION_PROBE_OPEN (a
// path relative to the folder) it opens that file first, as a person would.
const { renameSync, writeFileSync } = require('node:fs');
const vscode = require('vscode');

function activate(context) {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (folder && process.env.LOCATION_PROBE_OPEN) {
    void vscode.window.showTextDocument(vscode.Uri.joinPath(folder, process.env.LOCATION_PROBE_OPEN));
  }
  const events = [];
  const watcher = vscode.workspace.createFileSystemWatcher('**/*');
  for (const kind of ['Create', 'Change', 'Delete']) {
    context.subscriptions.push(watcher[`onDid${kind}`]((uri) => events.push({ kind, path: uri.fsPath, at: Date.now() })));
  }
  context.subscriptions.push(
    watcher,
    vscode.commands.registerCommand('locationProbe.report', async (symbolQuery) => {
      const diagnostics = vscode.languages
        .getDiagnostics()
        .flatMap(([uri, list]) => list.map((diagnostic) => ({ path: uri.fsPath, source: diagnostic.source, severity: diagnostic.severity, message: diagnostic.message })));
      const query = typeof symbolQuery === 'string' ? symbolQuery : 'locationBenchSymbol';
      const symbols = (await vscode.commands.executeCommand('vscode.executeWorkspaceSymbolProvider', query)) ?? [];
      const git = vscode.extensions.getExtension('vscode.git');
      const repositories = git?.isActive ? git.exports.getAPI(1).repositories.map((repository) => repository.rootUri.fsPath) : undefined;
      const report = {
        at: Date.now(),
        events,
        diagnostics,
        symbols: symbols.filter((symbol) => symbol.name.startsWith(query)).map((symbol) => symbol.location.uri.fsPath),
        repositories,
        settings: {
          watcherExclude: vscode.workspace.getConfiguration('files').get('watcherExclude'),
          searchExclude: vscode.workspace.getConfiguration('search').get('exclude'),
        },
      };
      // Renamed into place, so the benchmark never reads half a report.
      writeFileSync(`${process.env.LOCATION_PROBE_OUT}.tmp`, JSON.stringify(report));
      renameSync(`${process.env.LOCATION_PROBE_OUT}.tmp`, process.env.LOCATION_PROBE_OUT);
      return report.at;
    }),
  );
}

module.exports = { activate };
