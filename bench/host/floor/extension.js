// The floor of the host benchmark: a tree shaped like the board (one expanded heading, N rows with an
// icon and a description), every row known before the view asks. What a click on its activity-bar
// item costs until the rows are in the page is the workbench's own part, which no extension can cut.
const { writeFileSync } = require('node:fs');
const vscode = require('vscode');

exports.activate = (context) => {
  const count = Number(process.env.FLOOR_ROWS || 10);
  const rows = Array.from({ length: count }, (_, i) => ({ label: `Bench task ${String(i + 1).padStart(String(count).length, '0')}` }));
  const heading = { label: 'Pending', children: rows };
  const provider = {
    getChildren: (node) => (node ? node.children ?? [] : [heading]),
    getTreeItem: (node) => {
      const item = new vscode.TreeItem(node.label, node.children ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.label;
      item.description = node.children ? String(node.children.length) : '@bench · clean · ready';
      item.iconPath = new vscode.ThemeIcon(node.children ? 'list-tree' : 'circle-large-outline');
      return item;
    },
  };
  context.subscriptions.push(vscode.window.createTreeView('floorProbe.rows', { treeDataProvider: provider }));
  // The benchmark clicks once the probe is active, as it clicks the board once our extension is.
  if (process.env.FLOOR_READY) writeFileSync(process.env.FLOOR_READY, 'active\n');
};
