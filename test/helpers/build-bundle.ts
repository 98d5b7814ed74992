// Integration tests run the bundle a user runs: build it once before any test.
import { execFileSync } from 'node:child_process';

export default function buildBundle(): void {
  execFileSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
}
