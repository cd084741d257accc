// What the UI end-to-end suites share: where results go, and how a person opens the board,
// reads its rows and runs commands from the palette.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const results = join(root, 'test-results');

const SIDEBAR = '[id="workbench.parts.sidebar"]';

/** Clicks the extension's activity-bar item and returns the sidebar, widened so rows are not cut in screenshots. */
export async function openBoard(page) {
  const item = page.locator('.activitybar [aria-label^="Task Worktrees"]').first();
  await item.waitFor({ timeout: 60_000 });
  await item.click();
  const sidebar = page.locator(SIDEBAR);
  const box = await sidebar.boundingBox();
  if (box && box.width < 400) {
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width + 1, y);
    await page.mouse.down();
    await page.mouse.move(box.x + 480, y, { steps: 5 });
    await page.mouse.up();
  }
  return sidebar;
}

export async function rowsText(page) {
  return page.locator(`${SIDEBAR} .monaco-list-row`).allInnerTexts();
}

export async function waitForRow(page, text, timeout = 20_000) {
  await page.locator(`${SIDEBAR} .monaco-list-row`, { hasText: text }).first().waitFor({ timeout });
}

/** Clicks the quick-input row with this text (clicked, not Enter: the focused row may be another). */
export async function pick(page, text) {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor();
  await row.click();
}

export async function runFromPalette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await pick(page, title);
}
