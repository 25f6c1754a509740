import { nanoid } from 'nanoid';
import type { Link, LinkInput, LinkStore } from './types.js';
import { isValidSlug, normalizeUrl } from './util/slug.js';

export interface ShortenerOptions {
  /** Length of generated slugs. */
  slugLength?: number;
}

/** Raised when a requested slug is malformed or already taken. */
export class SlugError extends Error {}

/** Creates and resolves short links against a LinkStore. */
export class Shortener {
  private readonly store: LinkStore;
  private readonly slugLength: number;

  constructor(store: LinkStore, options: ShortenerOptions = {}) {
    this.store = store;
    this.slugLength = options.slugLength ?? 7;
  }

  /**
   * Store a new link and return it.
   * @throws SlugError when the slug is malformed or taken
   */
  async shorten(input: LinkInput): Promise<Link> {
    const url = normalizeUrl(input.url);
    const slug = input.slug ?? nanoid(this.slugLength).toLowerCase();
    if (!isValidSlug(slug)) throw new SlugError(`invalid slug: ${slug}`);
    if (await this.store.get(slug)) throw new SlugError(`slug already taken: ${slug}`);
    const link: Link = { slug, url, createdAt: new Date().toISOString(), hits: 0 };
    await this.store.put(link);
    return link;
  }

  /** The target URL of a slug (counting the visit), or undefined. */
  async resolve(slug: string): Promise<string | undefined> {
    const link = await this.store.get(slug);
    if (!link) return undefined;
    await this.store.put({ ...link, hits: link.hits + 1 });
    return link.url;
  }
}
