/**
 * @file Slug helpers shared by the shortener and the command line.
 */

const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,63}$/;

/**
 * Whether a slug may be used as a short link.
 * @param {string} slug the candidate slug
 * @returns {boolean}
 */
export function isValidSlug(slug) {
  return SLUG_PATTERN.test(slug);
}

/**
 * Turn free text into a slug: lower case, dashes, at most `maxLength` characters.
 * @param {string} text
 * @param {number} [maxLength=32]
 */
export function slugify(text, maxLength = 32) {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, maxLength).replace(/-+$/, '');
}

/**
 * Normalise a URL for storage; throws on anything but http(s).
 * @param {string} raw
 */
export const normalizeUrl = (raw) => {
  const url = new URL(raw.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`unsupported protocol: ${url.protocol}`);
  }
  url.hash = '';
  return url.toString();
};
