// The import graph of src/: the layers docs/architecture.md draws, checked on every run.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Every source file, relative to src/, with the source files it imports. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) =>
      relative(SRC, resolve(dirname(join(SRC, file)), m[1]!)).replace(/\.js$/, '.ts'),
    );
    graph.set(file, targets);
  }
  return graph;
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('has every import resolve to a file of src/', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${file} -> ${t}`));
    expect(missing).toEqual([]);
  });

  it('has no arrow into cli/ from a lower layer', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      file.startsWith('cli/') ? [] : targets.filter((t) => t.startsWith('cli/')).map((t) => `${file} -> ${t}`),
    );
    expect(upward).toEqual([]);
  });

  it('has no circle, between files or between folders', () => {
    const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');
    const folders = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (folderOf(file) === folderOf(target)) continue;
        folders.set(folderOf(file), (folders.get(folderOf(file)) ?? new Set()).add(folderOf(target)));
      }
    }
    expect(findCircle(new Map([...graph].map(([file, targets]) => [file, new Set(targets)])))).toBeUndefined();
    expect(findCircle(folders)).toBeUndefined();
  });
});

/** One circle of the graph, as the path round it, or undefined. */
function findCircle(graph: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node].join(' -> ');
    if (done.has(node)) return undefined;
    for (const next of graph.get(node) ?? []) {
      const circle = visit(next, [...path, node]);
      if (circle) return circle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const circle = visit(node, []);
    if (circle) return circle;
  }
  return undefined;
}
