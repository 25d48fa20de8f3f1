/**
 * Once before all test files: build dist/ (the CLI, the scenario runner and the
 * README walkthrough run the built gateway). Files run in parallel, so no file
 * builds on its own.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8', timeout: 170_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${String(build.status)}):\n${build.stdout}\n${build.stderr}`);
}
