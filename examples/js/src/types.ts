/** A stored short link. */
export interface Link {
  slug: string;
  url: string;
  createdAt: string;
  hits: number;
}

/** What a caller provides to create a link; the slug is optional. */
export type LinkInput = Pick<Link, 'url'> & { slug?: string };

/** Where links live. Implementations must keep slugs unique. */
export interface LinkStore {
  get(slug: string): Promise<Link | undefined>;
  put(link: Link): Promise<void>;
  list(): Promise<Link[]>;
}
