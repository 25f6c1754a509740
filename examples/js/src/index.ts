export { Shortener, SlugError } from './shortener.js';
export type { ShortenerOptions } from './shortener.js';
export { JsonFileStore, MemoryStore } from './store.js';
export type { Link, LinkInput, LinkStore } from './types.js';
export * from './util/slug.js';
