import { readFile, writeFile } from 'node:fs/promises';
import type { Link, LinkStore } from './types.js';

/** Keeps links in a Map; the default store for tests and `--store memory`. */
export class MemoryStore implements LinkStore {
  protected links = new Map<string, Link>();

  async get(slug: string): Promise<Link | undefined> {
    return this.links.get(slug);
  }

  async put(link: Link): Promise<void> {
    this.links.set(link.slug, link);
  }

  async list(): Promise<Link[]> {
    return [...this.links.values()].sort((a, b) => a.slug.localeCompare(b.slug));
  }
}

/** A MemoryStore persisted to a JSON file after every change. */
export class JsonFileStore extends MemoryStore {
  #loaded = false;

  constructor(private readonly path: string) {
    super();
  }

  async get(slug: string): Promise<Link | undefined> {
    await this.load();
    return super.get(slug);
  }

  async put(link: Link): Promise<void> {
    await this.load();
    await super.put(link);
    await writeFile(this.path, JSON.stringify(await super.list(), null, 2));
  }

  async list(): Promise<Link[]> {
    await this.load();
    return super.list();
  }

  private async load(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    try {
      const saved: Link[] = JSON.parse(await readFile(this.path, 'utf8'));
      for (const link of saved) this.links.set(link.slug, link);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
